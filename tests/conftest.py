"""Shared fixtures: locating ../shared data, tmp output folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def _shared_dir() -> Path:
    override = os.environ.get("PINGAN_SHARED")
    return Path(override) if override else ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ``../shared/data``, or skip the test when the folder is absent."""
    path = _shared_dir() / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set PINGAN_SHARED to its parent)")
    return path


@pytest.fixture(scope="session")
def shared_path(shared_data: Path):
    """Return a function giving ``../shared/data/NAME``, skipping when the file is absent."""

    def get(name: str) -> Path:
        path = shared_data / name
        if not path.is_file():
            pytest.skip(f"real data file {path} is absent")
        return path

    return get


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory):
    """The default synthetic sample district, written once per test session."""
    from geo.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("sample"), seed=2023)


@pytest.fixture(scope="session")
def sample_net(sample_files):
    """The sample district's car network."""
    from geo.network import build_network

    return build_network(sample_files.roads)


@pytest.fixture(scope="session")
def sample_layers(sample_files, sample_net):
    """The sample's villages, stations and teams, in the network's CRS."""
    from geo import layers

    return (
        layers.read_villages(sample_files.villages, to_crs=sample_net.crs),
        layers.read_stations(sample_files.stations, to_crs=sample_net.crs),
        layers.read_teams(sample_files.teams, to_crs=sample_net.crs),
    )


@pytest.fixture(scope="session")
def sample_full_area(sample_files, tmp_path_factory):
    """The sample district loaded as an Area, with every layer (groups, boundaries, officers)."""
    from geo.area import AreaSpec, LayerSource, load_area

    f = sample_files
    spec = AreaSpec(
        osm=str(f.roads),
        villages=str(f.villages),
        stations=str(f.stations),
        teams=str(f.teams),
        incidents=LayerSource(str(f.incidents), layer="incidents"),
        groups=str(f.groups),
        boundaries=str(f.boundaries),
        officers=str(f.officers),
        synthetic=True,
    )
    return load_area(spec, cache_dir=tmp_path_factory.mktemp("area-cache"))
