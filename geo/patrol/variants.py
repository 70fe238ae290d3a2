"""K diverse near-best plans of one shift, so that offenders cannot learn the route.

Different seeds alone barely change which hot spots are visited (a median Jaccard
distance of 0.02 was measured), so each further variant is searched with part of the
prize of the places the earlier variants visited withheld, and their roads made dearer
in the tie-breaking cost. The share withheld is halved until the variant collects at
least ``min_share`` of the best plan's true prize, so no variant is much worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np

from geo.area import Area
from geo.errors import PatrolError
from geo.patrol.build import NOT_CHOSEN
from geo.patrol.model import PatrolParams, Units
from geo.patrol.plan import plan_patrols
from geo.patrol.results import PastShift, PatrolPlan, PatrolVariants, jaccard_distance

__all__ = ["plan_variants"]

# Searches per variant while bisecting the share of prize withheld.
_TRIES = 4


def plan_variants(
    area: Area,
    units: Sequence[Units],
    targets: gpd.GeoDataFrame,
    params: PatrolParams | None = None,
    *,
    variants: int = 3,
    min_share: float = 0.97,
    min_distance: float = 0.25,
    withhold: float = 0.8,
    recent: Sequence[PastShift] = (),
) -> PatrolVariants:
    """Return ``variants`` plans, each collecting at least ``min_share`` of the best's prize.

    Parameters
    ----------
    variants
        How many plans (1 gives the best plan alone).
    min_share
        Least prize of a variant relative to the best plan.
    min_distance
        Least Jaccard distance wanted between the hot spots a variant visits and those
        of every earlier variant; when no candidate within ``min_share`` reaches it, the
        most different one that does keep the prize is taken.
    withhold
        Share of a place's prize first withheld when an earlier variant visited it
        (then bisected: less when the prize falls short, more when too alike).
    recent
        Plans of earlier shifts, penalised in every variant (see :func:`plan_patrols`).
    """
    if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= 10:
        msg = f"variants must be between 1 and 10, got {variants!r}"
        raise PatrolError(msg)
    if not 0 <= min_distance <= 1:
        msg = f"min_distance must be in [0, 1], got {min_distance}"
        raise PatrolError(msg)
    if not 0 < min_share <= 1:
        msg = f"min_share must be in (0, 1], got {min_share}"
        raise PatrolError(msg)
    p = params or PatrolParams()
    best = plan_patrols(area, units, targets, p, recent=recent)
    plans = [best]
    ids = targets["id"].astype(str).to_numpy()
    # When the best plan calls at every target it can reach, every variant calls at the
    # same ones: they can differ only in roads and order, and no search makes the hot
    # spots visited differ.
    choice = bool((best.left_out["reason"].astype(str) == NOT_CHOSEN).any())
    for j in range(1, variants):
        # How many earlier variants visited each target (any visit counts: withholding
        # by the share of variants would let a third variant fall back on the first).
        used = np.zeros(len(targets))
        for q in plans:
            visited = set(q.stops["target"].astype(str))
            used += np.isin(ids, list(visited))
        # Bisect the share withheld: less when the prize falls short, more when the
        # variant is too like an earlier one.
        lo, hi, share = 0.0, 1.0, withhold
        chosen: PatrolPlan | None = None
        chosen_d = -1.0
        for _ in range(_TRIES):
            scale = np.clip(1 - share * (used > 0), 0.0, 1.0)
            cand = plan_patrols(
                area,
                units,
                targets,
                replace(p, seed=p.seed + 7919 * j),
                recent=recent,
                avoid=plans,
                prize_scale=scale,
            )
            if cand.prize < min_share * best.prize - 1e-9:
                hi, share = share, (lo + share) / 2
                continue
            d = min(jaccard_distance(cand.hotspots_visited, q.hotspots_visited) for q in plans)
            if d > chosen_d:
                chosen, chosen_d = cand, d
            if d >= min_distance or not choice:
                break
            lo, share = share, (share + hi) / 2
        if chosen is None:
            # No withholding at all: a new seed on the true prizes, still near the best.
            chosen = plan_patrols(area, units, targets, replace(p, seed=p.seed + 7919 * j))
        plans.append(chosen)
    k = len(plans)
    ej, hj = np.zeros((k, k)), np.zeros((k, k))
    for a in range(k):
        for b in range(a + 1, k):
            ej[a, b] = ej[b, a] = jaccard_distance(plans[a].roads_driven, plans[b].roads_driven)
            ha, hb = plans[a].hotspots_visited, plans[b].hotspots_visited
            hj[a, b] = hj[b, a] = jaccard_distance(ha, hb)
    top = max(q.prize for q in plans)
    rel = np.array([q.prize / top if top > 0 else 1.0 for q in plans])
    order = np.argsort(-rel, kind="stable")
    return PatrolVariants(
        plans=tuple(plans[i] for i in order),
        relative=rel[order],
        edge_jaccard=ej[np.ix_(order, order)],
        hotspot_jaccard=hj[np.ix_(order, order)],
        min_share=min_share,
        min_distance=min_distance,
    )
