"""A synthetic but road-like OSM XML file, for benchmarks at a size no sample reaches.

Real rural road data is not a lattice of junctions: most OSM nodes are degree-2 shape
nodes that only bend a road, ways run through several junctions, and classes, one-way
tags and lighting vary. Simplification and parsing costs depend on exactly those
proportions, so the generator reproduces them:

* junctions on a perturbed grid, rows and columns 400-800 m apart, around 114.3E 30.9N
  (rural Wuhan), with some junctions and links removed and some diagonal links added;
* every link between two junctions bends through several shape nodes;
* ways follow a grid line through one to six links, so junctions are mid-way nodes too;
* dead-end spurs (farm tracks), mixed highway classes, ~5% one-way ways, some lit tags.

The node count is exact: shape nodes are shared out so that the file holds ``n_nodes``
nodes, all of them used by some way. ``write_roadlike_grid_osm`` fixes the grid of
junctions instead, for benchmarks sized by the routable graph rather than by the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

LON0, LAT0 = 114.3, 30.9
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT0))

# Expected file nodes per grid junction, used only to size the grid: a kept junction
# (~0.93) plus its share of links (~1.9 per junction) times ~5 shape nodes per link.
_NODES_PER_JUNCTION = 10.5
_MEAN_SHAPE_NODES = 5.0

_CLASSES = np.array(["primary", "secondary", "tertiary", "unclassified", "residential", "track"])
# Share of grid lines per class: a few arterial roads, mostly village roads, as in the
# county-level extracts of rural Hubei.
_LINE_CLASS_P = np.array([0.05, 0.10, 0.15, 0.35, 0.25, 0.10])
# Route-number prefixes of the numbered classes: national G, provincial S, county X.
_REF_PREFIX = ("G", "S", "X")


def write_roadlike_osm(path: str | Path, n_nodes: int = 250_000, seed: int = 0) -> Path:
    """Write a road-like OSM XML file of exactly ``n_nodes`` nodes.

    Parameters
    ----------
    path
        Output ``.osm`` file; its folder is created if needed.
    n_nodes
        Number of OSM nodes in the file (junctions plus shape nodes), at least 200.
    seed
        Seed of the random generator; a seed always gives the same bytes.
    """
    if n_nodes < 200:
        msg = f"n_nodes must be at least 200 for a grid of roads, got {n_nodes}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    side = max(4, round(np.sqrt(n_nodes / _NODES_PER_JUNCTION)))
    return _write_grid(
        path, side, rng, lambda n_vert, _n_links: n_nodes - n_vert, f"n_nodes={n_nodes}"
    )


def write_roadlike_grid_osm(
    path: str | Path, side: int = 500, shape_per_link: float = 1.0, seed: int = 0
) -> Path:
    """Write a road-like OSM XML file on a ``side`` x ``side`` grid of junctions.

    :func:`write_roadlike_osm` fixes the number of nodes in the file, which is what a
    parser pays for; this fixes the number of junctions, which is what a router pays
    for: a car build keeps about 0.95 node and 3.3 directed edges per grid junction,
    however many shape nodes bend the links in between.

    Parameters
    ----------
    path
        Output ``.osm`` file; its folder is created if needed.
    side
        Junctions per grid row and column, at least 4.
    shape_per_link
        Mean number of shape nodes per link between two junctions, at least 1.
    seed
        Seed of the random generator; a seed always gives the same bytes.
    """
    if side < 4:
        msg = f"side must be at least 4 for a grid of roads, got {side}"
        raise ValueError(msg)
    if not shape_per_link >= 1.0:
        msg = f"shape_per_link must be at least 1, got {shape_per_link}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)

    def n_shape(_n_vert: int, n_links: int) -> int:
        return round(shape_per_link * n_links)

    return _write_grid(path, side, rng, n_shape, f"shape_per_link={shape_per_link}")


def _write_grid(
    path: str | Path,
    side: int,
    rng: np.random.Generator,
    n_shape_for: Callable[[int, int], int],
    sized_by: str,
) -> Path:
    """Generate and write the roads of a ``side`` x ``side`` grid of junctions.

    ``n_shape_for(n_vertices, n_links)`` gives the number of shape nodes to share out
    once the junctions and links are drawn; ``sized_by`` names the caller's size argument
    in the error raised when that is fewer than one per link.
    """
    # Junctions: grid lines 400-800 m apart, each junction nudged off its line.
    col_x = np.concatenate([[0.0], np.cumsum(rng.uniform(400, 800, side - 1))])
    row_y = np.concatenate([[0.0], np.cumsum(rng.uniform(400, 800, side - 1))])
    gx, gy = np.meshgrid(col_x - col_x.mean(), row_y - row_y.mean())
    jx = gx.ravel() + rng.normal(0, 60, side * side)
    jy = gy.ravel() + rng.normal(0, 60, side * side)
    alive = rng.random(side * side) > 0.07
    grid = np.arange(side * side).reshape(side, side)

    # Ways along rows and columns: runs of kept links, cut into ways of 1-6 links.
    way_links: list[tuple[np.ndarray, np.ndarray]] = []
    line_class: list[int] = []
    for line in [*grid, *grid.T]:
        a, b = line[:-1], line[1:]
        keep = alive[a] & alive[b] & (rng.random(len(a)) > 0.07)
        cls = int(rng.choice(len(_CLASSES), p=_LINE_CLASS_P))
        for run in _runs(np.flatnonzero(keep)):
            for piece in _cut(run, rng):
                way_links.append((a[piece], b[piece]))
                line_class.append(cls)

    # Diagonal shortcuts across ~6% of the cells, one per cell so they never cross.
    cells = np.flatnonzero(rng.random((side - 1) ** 2) < 0.06)
    r, c = np.divmod(cells, side - 1)
    flip = rng.random(len(cells)) < 0.5
    da = np.where(flip, grid[r, c + 1], grid[r, c])
    db = np.where(flip, grid[r + 1, c], grid[r + 1, c + 1])
    ok = alive[da] & alive[db]
    diag_cls = rng.choice([3, 4, 5], size=int(ok.sum()), p=[0.4, 0.3, 0.3])
    for ua, ub, cls in zip(da[ok], db[ok], diag_cls, strict=True):
        way_links.append((np.array([ua]), np.array([ub])))
        line_class.append(int(cls))

    # Dead-end spurs (farm tracks, lanes to a hamlet) from ~5% of the junctions.
    roots = np.flatnonzero(alive & (rng.random(side * side) < 0.05))
    angle = rng.uniform(0, 2 * np.pi, len(roots))
    reach = rng.uniform(150, 400, len(roots))
    tips = np.arange(side * side, side * side + len(roots))
    vx = np.concatenate([jx, jx[roots] + reach * np.cos(angle)])
    vy = np.concatenate([jy, jy[roots] + reach * np.sin(angle)])
    spur_cls = rng.choice([4, 5], size=len(roots), p=[0.3, 0.7])
    for ua, ub, cls in zip(roots, tips, spur_cls, strict=True):
        way_links.append((np.array([ua]), np.array([ub])))
        line_class.append(int(cls))

    link_a = np.concatenate([wl[0] for wl in way_links])
    link_b = np.concatenate([wl[1] for wl in way_links])
    links_per_way = np.array([len(wl[0]) for wl in way_links])

    # Only vertices some way uses become nodes, numbered in vertex order.
    used, vid = np.unique(np.concatenate([link_a, link_b]), return_inverse=True)
    va, vb = vid[: len(link_a)], vid[len(link_a) :]
    n_vert = len(used)
    n_links = len(link_a)
    n_shape = n_shape_for(n_vert, n_links)
    if n_shape < n_links:
        msg = f"{sized_by} is too small for {n_links} road links"
        raise ValueError(msg)
    px, py = vx[used], vy[used]

    # Shape nodes: one per link at least, the rest shared out by length with noise, so
    # long and winding links carry more of them, as surveyed roads do.
    length = np.hypot(px[vb] - px[va], py[vb] - py[va])
    weight = length * rng.gamma(2.0, 0.5, n_links)
    k = 1 + rng.multinomial(n_shape - n_links, weight / weight.sum())
    sx, sy = _shape_points(px[va], py[va], px[vb], py[vb], k, rng)

    # Node ids: vertices 1..n_vert, then shape nodes link by link.
    shape_start = n_vert + 1 + np.concatenate([[0], np.cumsum(k)[:-1]])
    refs, way_off = _way_refs(va + 1, vb + 1, shape_start, k, links_per_way)

    lon = LON0 + np.concatenate([px, sx]) / _M_PER_DEG_LON
    lat = LAT0 + np.concatenate([py, sy]) / _M_PER_DEG_LAT
    tags = _way_tags(np.array(line_class), rng)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write('<osm version="0.6" generator="pingan benchmarks/roadlike.py">\n')
        f.write(
            f'  <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
            f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>\n'
        )
        # Nodes precede ways in id order, as in a planet extract: streaming readers
        # (libosmium's location index) rely on it.
        f.writelines(
            f'  <node id="{i}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>\n'
            for i, x, y in zip(range(1, len(lon) + 1), lon.tolist(), lat.tolist(), strict=True)
        )
        ref_text = refs.astype(str)
        for w in range(len(way_off) - 1):
            nds = "".join(f'    <nd ref="{r}"/>\n' for r in ref_text[way_off[w] : way_off[w + 1]])
            tag_text = "".join(
                f"    <tag k={quoteattr(key)} v={quoteattr(val)}/>\n" for key, val in tags[w]
            )
            f.write(f'  <way id="{w + 1}" version="1">\n{nds}{tag_text}  </way>\n')
        f.write("</osm>\n")
    return out


def _runs(idx: np.ndarray) -> list[np.ndarray]:
    """Split sorted indices into runs of consecutive integers."""
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    return np.split(idx, breaks)


def _cut(run: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut a run of links into ways of 1-6 links, as mappers split roads at junctions."""
    sizes = rng.integers(1, 7, size=len(run))
    ends = np.cumsum(sizes)
    return np.split(run, ends[ends < len(run)])


def _shape_points(
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    k: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Place ``k[i]`` shape nodes along link i, on a gentle bend with survey jitter."""
    link = np.repeat(np.arange(len(k)), k)
    j = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k) + 1
    t = j / (k[link] + 1)
    dx, dy = bx - ax, by - ay
    length = np.maximum(np.hypot(dx, dy), 1e-9)
    nx, ny = -dy / length, dx / length
    # A sine bow whose amplitude is a fraction of the link, so roads curve but stay
    # between their junctions and do not cross neighbouring links.
    amp = rng.normal(0, 0.06, len(k)) * length
    waves = rng.integers(1, 3, len(k))
    bend = amp[link] * np.sin(np.pi * waves[link] * t) + rng.normal(0, 4, len(t))
    sx = ax[link] + dx[link] * t + nx[link] * bend
    sy = ay[link] + dy[link] * t + ny[link] * bend
    return sx, sy


def _way_refs(
    a_id: np.ndarray,
    b_id: np.ndarray,
    shape_start: np.ndarray,
    k: np.ndarray,
    links_per_way: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return every way's node refs (flat) and their offsets.

    Each link contributes its start junction and its shape nodes; each way then closes
    with the end junction of its last link.
    """
    piece = 1 + k
    start = np.cumsum(piece) - piece
    within = np.arange(piece.sum()) - np.repeat(start, piece)
    flat = np.where(within == 0, np.repeat(a_id, piece), np.repeat(shape_start, piece) + within - 1)
    last_link = np.cumsum(links_per_way) - 1
    way_end = start[last_link] + piece[last_link]
    refs = np.insert(flat, way_end, b_id[last_link])
    way_off = np.concatenate([[0], way_end + np.arange(1, len(way_end) + 1)])
    return refs, way_off


def _way_tags(cls: np.ndarray, rng: np.random.Generator) -> list[list[tuple[str, str]]]:
    """Draw the tags of every way: class, route ref, one-way, lighting, speed limit."""
    n = len(cls)
    # A fifth of the ways change class along their line (a road narrows through a village).
    drift = rng.random(n) < 0.2
    cls = np.where(drift, np.clip(cls + rng.choice([-1, 1], n), 0, len(_CLASSES) - 1), cls)
    oneway = rng.random(n)
    lit = rng.random(n)
    lit_yes = np.where(cls <= 1, 0.35, np.where(cls <= 4, 0.10, 0.0))
    ref_no = rng.integers(1, 999, n)
    limited = rng.random(n) < 0.3
    out: list[list[tuple[str, str]]] = []
    for i in range(n):
        c = int(cls[i])
        t = [("highway", str(_CLASSES[c]))]
        if c < len(_REF_PREFIX):
            t.append(("ref", f"{_REF_PREFIX[c]}{ref_no[i]:03d}"))
        if c == 4:
            t.append(("name", f"{ref_no[i]}号村道"))
        if oneway[i] < 0.045:
            t.append(("oneway", "yes"))
        elif oneway[i] < 0.05:
            t.append(("oneway", "-1"))
        if lit[i] < lit_yes[c]:
            t.append(("lit", "yes"))
        elif lit[i] > 0.9:
            t.append(("lit", "no"))
        if c <= 1 and limited[i]:
            t.append(("maxspeed", "60"))
        out.append(t)
    return out


def osm_counts(path: Path) -> tuple[int, int]:
    """Count the nodes and ways in an OSM file (what the readers have to parse)."""
    import osmium

    nodes = ways = 0
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node():
            nodes += 1
        else:
            ways += 1
    return nodes, ways
