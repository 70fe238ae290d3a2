"""OSM identity of the finished roads: their tags, and the ids every writer uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.sample.geometry import FloatArray
from geo.sample.roads import Net, Way
from geo.sample.skeleton import Skeleton

__all__ = ["Numbering", "number_ways", "tag_ways"]

_STREET_NAMES = (
    "建设路", "人民路", "解放街", "新街", "文化路", "幸福路", "和平街", "商贸街",
    "中心街", "兴业路", "育才路", "老街", "正街", "友谊路", "民主街", "团结路",
)  # fmt: skip


def tag_ways(
    rng: np.random.Generator, net: Net, sk: Skeleton, n_seats: int, stems: list[str]
) -> None:
    """Give every way its OSM tags: names, refs, surfaces, speeds, one-ways, lighting."""
    ways = [w for w in net.ways if w.alive]
    street_names = [
        [_STREET_NAMES[i] for i in rng.permutation(len(_STREET_NAMES))] for _ in range(n_seats)
    ]
    used = [0] * n_seats
    # Block streets of a market town are often one-way; routing must honour that. Two
    # of them, in the central seat when it has enough.
    streets_in_town = [k for k, w in enumerate(ways) if w.role == "street"]
    one_way = sorted(streets_in_town, key=lambda k: (ways[k].seat != 0, k))[:2]
    for k, w in enumerate(ways):
        tags: dict[str, str] = {"highway": w.highway}
        if w.role in _VILLAGE_ROLES:
            w.tags = _village_tags(rng, w, stems[w.village - n_seats])
            continue
        if w.name:
            tags["name"] = w.name
        if w.road >= 0:
            tags["name"] = sk.roads[w.road].name
            tags["ref"] = sk.roads[w.road].ref
        if w.highway in ("primary", "secondary"):
            tags["surface"] = "asphalt"
            if w.highway == "primary":
                tags["lanes"] = "2"
            if w.role == "town":
                tags["maxspeed"] = "40"
            elif rng.random() < (0.7 if w.highway == "primary" else 0.5):
                tags["maxspeed"] = "60"
        elif w.highway == "tertiary":
            tags["surface"] = "asphalt" if rng.random() < 0.8 else "concrete"
            if rng.random() < 0.25:
                tags["maxspeed"] = "40"
        elif w.highway == "unclassified":
            tags["surface"] = "concrete" if rng.random() < 0.85 else "asphalt"
            if w.village >= 0 and rng.random() < 0.4:
                tags["name"] = f"{stems[w.village - n_seats]}路"
        elif w.highway == "residential" and w.role == "grid":
            tags["surface"] = "asphalt" if rng.random() < 0.5 else "concrete"
            tags["lit"] = "yes"
        elif w.highway == "residential":
            tags["name"] = street_names[w.seat][used[w.seat] % len(_STREET_NAMES)]
            used[w.seat] += 1
            tags["surface"] = "asphalt" if rng.random() < 0.5 else "concrete"
            if k in one_way:
                tags["oneway"] = "yes"
        elif w.highway == "service":
            tags["surface"] = "concrete"
        elif w.highway == "track":
            surface = int(rng.choice(4, p=[0.35, 0.25, 0.25, 0.15]))
            tags["surface"] = ("gravel", "unpaved", "dirt", "ground")[surface]
            tags["tracktype"] = f"grade{int(rng.integers(2, 5))}"
        if w.role == "planted":
            tags["note"] = w.tags["note"]
            if w.highway == "service":
                tags["oneway"] = "yes"
        w.tags = tags

    # Lighting of the main roads, by way count: about 5 % lit (town streets, the county
    # road through the seats), about 25 % explicitly unlit (mostly village roads and
    # tracks), rest unknown. Village groups and the town's lane web are tagged above.
    ways = [w for w in ways if w.role not in _VILLAGE_ROLES and w.role != "grid"]
    n_yes, n_no = round(0.05 * len(ways)), round(0.25 * len(ways))
    gates = {w.b if w.a < n_seats else w.a for w in ways if w.role == "town"}  # lookups only
    rank_of = {
        ("town", "primary"): 0, ("street", "residential"): 1, ("town", "secondary"): 2,
        ("town", "tertiary"): 2, ("town", "residential"): 3, ("service", "service"): 4,
    }  # fmt: skip
    ranks = np.array(
        [
            rank_of.get(
                (w.role, w.highway),
                5 if w.highway == "primary" and (w.a in gates or w.b in gates) else 99,
            )
            for w in ways
        ]
    )
    # Main-street and town-street segments take turns, so even a small district lights
    # both; the other town ways follow by rank.
    pos = np.zeros(len(ranks), dtype=np.int64)
    for r in np.unique(ranks):
        pos[ranks == r] = np.arange(int((ranks == r).sum()))
    tier = (ranks > 1).astype(np.int64)
    key = np.lexsort((np.arange(len(ranks)), ranks, np.where(tier == 0, pos, 0), tier))
    lit = key[ranks[key] < 99][:n_yes]
    for wi in lit:
        ways[wi].tags["lit"] = "yes"
    main = [wi for wi in lit if ranks[wi] == 0]
    ring = [wi for wi in lit if ranks[wi] == 1]
    if main:
        ways[main[-1]].tags["lit"] = "24/7"  # a main street lit all night
    if ring:
        ways[ring[-1]].tags["lit"] = "automatic"  # motion-sensor lamps on a town street
    weight = np.array(
        [
            {"unclassified": 1.0, "track": 0.9, "tertiary": 0.25}.get(w.highway, 0.0)
            if w.role in ("rural", "field")
            else 0.0
            for w in ways
        ]
    )
    pool = np.flatnonzero(weight > 0)
    p = weight[pool] / weight[pool].sum()
    for wi in np.sort(rng.choice(pool, size=min(n_no, len(pool)), replace=False, p=p)):
        ways[wi].tags["lit"] = "no"


_VILLAGE_ROLES = frozenset({"link", "through", "lane", "track"})


def _village_tags(rng: np.random.Generator, w: Way, stem: str) -> dict[str, str]:
    """Tags of a village group's roads: mostly unlit, unnamed, concrete or earth."""
    tags = {"highway": w.highway}
    u = float(rng.random())
    if w.role == "through":
        # The planted case: one long unlit road through four groups (通组路).
        tags.update(name=f"{stem}通组路", surface="concrete", lit="no")
    elif w.role == "link":
        tags["surface"] = "concrete" if u < 0.8 else "asphalt"
        if u < 0.7:
            tags["lit"] = "no"
    elif w.role == "lane":
        tags["surface"] = "concrete" if u < 0.6 else "ground"
        if u < 0.08:
            tags["lit"] = "yes"  # solar lamps a household put up
        elif u < 0.4:
            tags["lit"] = "no"
    else:
        tags["surface"] = ("dirt", "ground", "gravel")[int(3 * u)]
        tags["tracktype"] = f"grade{2 + int(3 * u)}"
    return tags


@dataclass(frozen=True)
class Numbering:
    """OSM ids of the live ways and their nodes, fixed once for every writer."""

    order: list[int]  # live way indices in writing order
    way_ids: dict[int, int]  # way index -> OSM way id
    junction_ids: dict[int, int]  # junction index -> OSM node id
    node_xy: FloatArray  # node coordinates, row k holds node id k + 1
    refs: list[list[int]]  # node ids of each way, in writing order


def number_ways(net: Net) -> Numbering:
    """Give ways ids by class, like a road atlas, and node ids in order of first use."""
    rank = {"primary": 0, "secondary": 1, "tertiary": 2, "unclassified": 3,
            "residential": 4, "service": 5, "track": 6}  # fmt: skip
    order = net.alive()
    order.sort(key=lambda i: (net.ways[i].role == "planted", rank[net.ways[i].highway], i))
    junction_ids: dict[int, int] = {}
    xy: list[FloatArray] = []
    refs: list[list[int]] = []

    def junction(j: int) -> int:
        if j not in junction_ids:
            xy.append(net.jxy[j])
            junction_ids[j] = len(xy)
        return junction_ids[j]

    for wi in order:
        w = net.ways[wi]
        inner = w.shape if w.shape is not None else np.empty((0, 2))
        first = junction(w.a)
        xy.extend(inner)
        inner_ids = list(range(len(xy) - len(inner) + 1, len(xy) + 1))
        refs.append([first, *inner_ids, junction(w.b)])
    return Numbering(
        order=order,
        way_ids={wi: k + 1 for k, wi in enumerate(order)},
        junction_ids=junction_ids,
        node_xy=np.array(xy),
        refs=refs,
    )
