"""The environment holds exactly the locked versions, and the lock's two forms agree."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SETS = ("core", "dev", "service", "dask")


def _pins(name: str) -> dict[str, tuple[str, Requirement]]:
    """The pins of one exported set: name -> (version, requirement with its marker)."""
    out = {}
    for line in (ROOT / ".ci" / "locks" / f"{name}.txt").read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name}.txt: {line!r} is not pinned"
        out[canonicalize_name(req.name)] = (spec.version, req)
    return out


def _locked() -> dict[str, set[str]]:
    """uv.lock's versions of each package (a package may have one per Python range)."""
    data = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
    out: dict[str, set[str]] = {}
    for pkg in data["package"]:
        if pkg.get("source", {}).get("editable") == ".":
            continue  # pingan itself
        out.setdefault(canonicalize_name(pkg["name"]), set()).add(pkg["version"])
    return out


def test_the_installed_versions_are_the_locked_ones():
    """What `make test` installed is the dev set of the lock, version for version (the
    pip freeze check): a package installed by hand or resolved anew would differ."""
    wrong, missing = [], []
    for name, (version, req) in _pins("dev").items():
        if req.marker is not None and not req.marker.evaluate():
            continue  # another platform's or Python's pin
        try:
            got = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if got != version:
            wrong.append(f"{name} {got} (locked {version})")
    assert not missing, f"locked but not installed: {missing}"
    assert not wrong, f"installed versions differ from the lock: {wrong}"


@pytest.mark.parametrize("name", SETS)
def test_every_exported_pin_is_in_uv_lock(name):
    """pip's exports (.ci/locks) pin only versions uv.lock holds: the two installers
    give the same environment."""
    locked = _locked()
    for pkg, (version, _) in _pins(name).items():
        assert version in locked.get(pkg, set()), f"{name}.txt pins {pkg}=={version}"


def test_the_sets_nest_and_keep_pyarrow_out():
    """Every set holds the core; none holds pyarrow, which would turn pandas' text
    columns into Arrow strings the readers do not expect."""
    core = set(_pins("core"))
    for name in SETS:
        pins = _pins(name)
        assert core <= set(pins), f"{name} lacks core packages {sorted(core - set(pins))}"
        assert "pyarrow" not in pins
    assert "pytest" in _pins("dev") and "pytest" not in core
    assert "fastapi" in _pins("service") and "fastapi" not in core
    assert "distributed" in _pins("dask") and "distributed" not in core


def _imports(paths) -> set[str]:
    import_names = {"osmium": "osmium", "yaml": "pyyaml"}
    # Statements only: "from X... import" or "import X"; docstrings say "from the".
    pattern = re.compile(
        r"^\s*(?:from\s+([a-zA-Z_]\w*)[\w.]*\s+import\b|import\s+([a-zA-Z_]\w*))", re.M
    )
    stdlib = set(__import__("sys").stdlib_module_names)
    used: set[str] = set()
    for path in paths:
        for pair in pattern.findall(path.read_text("utf-8")):
            mod = pair[0] or pair[1]
            if mod not in stdlib and mod not in {"geo", "service", "maps", "__future__"}:
                used.add(canonicalize_name(import_names.get(mod, mod)))
    return used


# The HTTP service (its app, its store, `pingan serve`) runs on the `service` set.
SERVICE_CODE = ("service/api", "service/store", "service/serve_cli.py")


# Province sweeps on Dask run on the `dask` set.
DASK_CODE = ("service/batch.py",)


def _is_in(path, where) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == s or rel.startswith(s + "/") for s in where)


def _is_service(path) -> bool:
    return _is_in(path, SERVICE_CODE)


def test_the_core_declares_what_the_code_imports():
    """Every third-party module geo/, service/ and maps/ import is a core dependency;
    the service's own code may also use the `service` set, the Dask runner the `dask` set."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    service = declared | {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["service"]
    }
    # FastAPI's own API is built on these two: its models and responses are theirs.
    service |= {"pydantic", "starlette"}
    files = [p for folder in ("geo", "service", "maps") for p in (ROOT / folder).rglob("*.py")]
    dask = declared | {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dask"]
    }
    core = [p for p in files if not _is_service(p) and not _is_in(p, DASK_CODE)]
    used = _imports(core)
    assert used <= declared, f"imported but not declared: {sorted(used - declared)}"
    used = _imports(p for p in files if _is_service(p))
    assert used <= service, f"the service imports undeclared: {sorted(used - service)}"
    used = _imports(p for p in files if _is_in(p, DASK_CODE))
    assert used <= dask, f"the Dask runner imports undeclared: {sorted(used - dask)}"
