"""A job's run is complete or clearly not: staged outputs, swapped in, then a manifest.

Each file was already written atomically, but a run was not: a run killed half-way into
an ``out/`` holding an earlier run left a mix of both, and nothing said so. Now the main
job writes into a staging folder inside ``out/``. Only when every file is there does it
swap them in, remove what the earlier run wrote and this one did not (product files no
manifest lists, a single command's say, are kept and listed as not this run's), and write
``pingan-run.json`` last with ``status: "complete"``, the inputs with their hashes, the
options and every file with its hash.

A run killed while staging leaves the earlier run untouched; its staging folder is
removed by the next run. A run killed during the swap (a few renames) leaves the
manifest saying ``"replacing"``: clearly not complete.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from geo.atomic import write_text
from geo.network import file_sha256
from service.output import FILES, Output

__all__ = ["MANIFEST", "RunOutput", "read_manifest"]

#: The run manifest's name in the output folder.
MANIFEST = "pingan-run.json"
_STAGING = ".pingan-staging-"
#: Product files that live under ``scenarios/``.
_SCENARIO_FILES = ("base.json", "post_and_lamps.json", "lamps.json")


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """Return the run manifest of ``folder``, or None when there is none (or it is bad)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunOutput(Output):
    """The main job's writer: files go to a staging folder until :meth:`commit`.

    Parameters
    ----------
    folder
        The output folder the run ends up in.
    info
        What the manifest records about the run: inputs, options, seed, version.
    """

    def __init__(self, folder: str | Path, info: dict[str, Any]) -> None:
        self.final = Path(folder)
        self.final.mkdir(parents=True, exist_ok=True)
        self._clean_stale_staging()
        stage = self.final / f"{_STAGING}{os.getpid()}-{time.time_ns()}"
        super().__init__(stage)
        self.info = dict(info)
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def final_path(self, name: str) -> Path:
        """Return where ``name`` will be once the run is complete (for relative paths)."""
        return self.final / name

    def _clean_stale_staging(self) -> None:
        # A staging folder whose writer is gone is a killed run's: nothing refers to it.
        for p in self.final.glob(f"{_STAGING}*"):
            pid = p.name[len(_STAGING) :].split("-")[0]
            if p.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)

    def _manifest(self, status: str, files: list[str], *, hashes: bool) -> None:
        data = {
            "status": status,
            "started": self.started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z") if status == "complete" else None,
            **self.info,
            "files": {
                name: (file_sha256(self.final / name) if hashes else None) for name in sorted(files)
            },
            "not_from_this_run": list(getattr(self, "others", [])),
        }
        write_text(self.final / MANIFEST, json.dumps(data, ensure_ascii=False, indent=2))

    def commit(self) -> Path:
        """Swap the staged files in, remove the earlier run's leftovers, write the manifest.

        Returns the manifest's path. Afterwards :attr:`written` holds the final paths.
        """
        stage = self.folder
        names = sorted({str(p.relative_to(stage)) for p in self.written})
        old = read_manifest(self.final) or {}
        old_files = set(old.get("files") or {}) if isinstance(old.get("files"), dict) else set()
        self._manifest("replacing", names, hashes=False)
        for name in names:
            target = self.final / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / name, target)
        # What an earlier run wrote and this one did not would read as this run's: remove
        # it. Product files no run manifest lists (a single command's, or a run from
        # before manifests) may be someone's work: keep them, but list them as not this
        # run's.
        for name in sorted(old_files - set(names)):
            path = self.final / name
            if path.is_file() and path.resolve().is_relative_to(self.final.resolve()):
                path.unlink()
        known = set(FILES) - set(_SCENARIO_FILES) - {MANIFEST}
        known |= {f"scenarios/{n}" for n in _SCENARIO_FILES}
        self.others = sorted(
            n for n in known - set(names) - old_files if (self.final / n).is_file()
        )
        self._manifest("complete", names, hashes=True)
        shutil.rmtree(stage, ignore_errors=True)
        self.folder = self.final
        self.written = [self.final / n for n in names]
        return self.final / MANIFEST

    def abort(self) -> None:
        """Drop the staged files; the earlier run stays as it was."""
        shutil.rmtree(self.folder, ignore_errors=True)
