"""Assemble the whole district from one random stream, in a fixed draw order.

Every step draws from the same ``numpy.random.default_rng(seed)`` generator, so the
order of the calls below is part of the output: moving one changes every file. Layers
added since draw from generators of their own (``default_rng([seed, 12])`` for the
auxiliary officers), so adding them changed no file that existed before.
"""

from __future__ import annotations

import math

import numpy as np

from geo.sample.geometry import IntArray
from geo.sample.groups import add_groups, settlement_cells
from geo.sample.incidents import draw_incidents, plant_hotspots
from geo.sample.landcover import make_landcover
from geo.sample.places import (
    gateways,
    place_points,
    place_seats,
    place_villages,
    town_names,
    village_names,
)
from geo.sample.roads import build_network, check_no_crossings, plant_disconnected
from geo.sample.skeleton import build_skeleton
from geo.sample.tags import number_ways, tag_ways
from geo.sample.terrain import make_terrain
from geo.sample.town import add_town_streets
from geo.sample.units import make_officers, make_stations, make_teams
from geo.sample.writers import (
    SampleContents,
    boundaries_geojson,
    groups_csv,
    hotspots_geojson,
    officers_csv,
    osm_xml,
    readme_text,
    stations_geojson,
    teams_csv,
    villages_csv,
)

__all__ = ["build_district"]


def build_district(seed: int, n_villages: int, n_incidents: int) -> SampleContents:
    """Draw the district for ``seed`` and serialise every file it is written as.

    Parameters
    ----------
    seed
        Seed of the one random generator every step draws from.
    n_villages
        Number of villagers' committees (already validated).
    n_incidents
        Number of incidents over the sample year (already validated).

    Returns
    -------
    SampleContents
        The text of every file and the incidents table, ready to write.
    """
    rng = np.random.default_rng(seed)
    n_seats = 3
    terrain = make_terrain(rng)
    seats = place_seats(rng)
    villages = place_villages(rng, n_villages, seats, terrain)
    gates = gateways(rng, seats)
    pts = np.vstack([seats, villages, gates])
    n_settle = n_seats + n_villages

    d_seat = np.hypot(*(villages[:, None, :] - seats[None, :, :]).transpose(2, 0, 1))
    township = np.concatenate([np.arange(n_seats), d_seat.argmin(axis=1)]).astype(np.int64)
    log_pop = rng.normal(math.log(1150.0), 0.55, n_villages)
    # Hill villages are smaller than those on the plain.
    pop_f = np.clip(np.exp(log_pop) * (1.0 - 0.35 * terrain.hill(villages)), 300, 3500)
    population: IntArray = pop_f.round().astype(np.int64)
    stems = village_names(rng, n_villages)
    town_stems = town_names(rng, n_seats)

    sk = build_skeleton(
        rng, pts, n_seats, n_settle, township, population, stems, town_stems, terrain
    )
    net, gate_r = build_network(rng, sk, n_seats, n_settle, terrain)
    check_no_crossings(net)
    places = place_points(
        rng, net, sk, n_seats, n_settle, gate_r, township[n_seats:], population, stems, town_stems
    )
    plant_disconnected(rng, net, places.village_xy)
    check_no_crossings(net)
    add_town_streets(rng, net, n_seats)
    cells = settlement_cells(sk.pts[:n_settle])
    groups, dark = add_groups(rng, net, places, cells, n_seats)
    check_no_crossings(net)
    tag_ways(rng, net, sk, n_seats, stems)
    numbering = number_ways(net)
    # The base map's land cover, from the finished roads; it draws nothing from ``rng``.
    cover = make_landcover(terrain, places, net, gate_r)
    stations = make_stations(rng, places)
    teams = make_teams(rng, stations)
    hotspots = plant_hotspots(
        rng, net, sk, places, stations, n_settle, numbering, n_incidents, dark
    )
    incidents = draw_incidents(rng, net, places, groups, hotspots, n_incidents)
    # Not from ``rng``: the files drawn above stay those of earlier versions.
    officers = make_officers(np.random.default_rng([seed, 12]), places, groups, stations)
    per_village = np.bincount(officers.village[officers.village >= 0], minlength=n_villages)

    counts = {
        "ways": len(numbering.order),
        "villages": n_villages,
        "groups": len(groups.village),
        "communities": len(places.community_names),
        "stations": len(stations.ids),
        "teams": len(teams),
        "officers": len(officers.ids),
        "officer_gaps": int((per_village == 0).sum()),
        "officer_pairs": int((per_village == 2).sum()),
        "officers_unplaced": int((officers.village < 0).sum()),
        "incidents": n_incidents,
        "hotspots": len(hotspots),
    }
    return SampleContents(
        seed=seed,
        osm=osm_xml(net, numbering, seed, places=places, cover=cover),
        villages_csv=villages_csv(places),
        groups_csv=groups_csv(places, groups),
        boundaries_geojson=boundaries_geojson(places, cells, n_seats),
        stations_geojson=stations_geojson(stations),
        teams_csv=teams_csv(teams),
        officers_csv=officers_csv(officers, places),
        hotspots_geojson=hotspots_geojson(hotspots, incidents),
        readme=readme_text(seed, counts, town_stems),
        incidents=incidents,
    )
