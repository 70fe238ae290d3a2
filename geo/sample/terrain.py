"""Terrain of the sample district: a few low hills in the north, plain in the south."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.sample.frame import X_HALF, Y_HALF
from geo.sample.geometry import FloatArray

__all__ = ["Terrain", "make_terrain"]


@dataclass(frozen=True)
class Terrain:
    """Hilliness in 0..1 from a few Gaussian hills, concentrated in the north."""

    centres: FloatArray
    sigmas: FloatArray
    heights: FloatArray

    def hill(self, xy: FloatArray) -> FloatArray:
        """Return the hilliness at each point of ``xy``."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        d2 = ((xy[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=2)
        bumps = self.heights * np.exp(-d2 / (2 * self.sigmas**2))
        return np.asarray(np.clip(bumps.sum(axis=1), 0.0, 1.0), dtype=np.float64)


def make_terrain(rng: np.random.Generator) -> Terrain:
    """Draw two to four hills."""
    k = int(rng.integers(2, 5))
    # North Huangpi rises towards the Dabie foothills; the south is paddy plain.
    cx = rng.uniform(-X_HALF, X_HALF, k)
    cy = rng.uniform(0.2 * Y_HALF, 1.15 * Y_HALF, k)
    return Terrain(
        centres=np.column_stack([cx, cy]),
        sigmas=rng.uniform(2000.0, 3800.0, k),
        heights=rng.uniform(0.6, 1.0, k),
    )
