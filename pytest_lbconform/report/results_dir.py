"""The Allure results folder of a run: emptied of what earlier runs of this suite wrote, never of anything else.

allure-pytest's ``--clean-alluredir`` deletes the whole folder; a report directory a user points at may hold
files of their own there. Each run records what it wrote in a manifest (``.lbconform-results.json``); the next
run removes exactly those. A file this suite did not write is never touched: the run is refused in one line
before anything starts, because Allure would count such a file as a result of this run.

A run that was killed (-9) before it wrote its manifest leaves a manifest marked incomplete, with the time it
started: files in the folder that Allure writers name (``<uuid>-result.json``, ``-container.json``,
``-attachment.*``, and the plugin's own ``categories.json``, ``environment.properties``, ``executor.json``,
``history/``) and that changed after that start are taken as that run's.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from ..errors import ConfigError
from . import files

MANIFEST = ".lbconform-results.json"
#: names an Allure writer (allure-pytest) and this plugin give to what they put in the results folder
ALLURE_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-"
                         r"(result\.json|container\.json|attachment(\.[A-Za-z0-9]+)?)$")
OWN_NAMES = frozenset({"categories.json", "environment.properties", "executor.json", "history"})
MAX_NAMED = 3  #: foreign files named in the refusal


def _read_manifest(results: Path) -> dict[str, object]:
    path = results / MANIFEST
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ours(results: Path, manifest: dict[str, object]) -> set[str]:
    """Names in ``results`` that an earlier run of this suite wrote."""
    listed = manifest.get("written")
    if isinstance(listed, list):
        return {str(n) for n in listed}
    started = manifest.get("started")
    if not isinstance(started, (int, float)):
        return set()
    return {p.name for p in results.iterdir() if (ALLURE_NAME.match(p.name) or p.name in OWN_NAMES)
            and not p.is_symlink() and p.lstat().st_mtime >= started}


def claim(results: Path, where: str) -> None:
    """Empty ``results`` of what earlier runs of this suite wrote and mark it as this run's (incomplete until
    :func:`seal`). Raise :class:`ConfigError` naming the foreign files, having removed nothing, when there are any."""
    if results.is_symlink() or (results.exists() and not results.is_dir()):
        raise ConfigError(f"{where}: {results} is not a directory this suite can write Allure results into; "
                          "give a report directory whose allure-results is a plain folder (or absent)")
    if results.is_dir():
        ours = _ours(results, _read_manifest(results)) | {MANIFEST}
        foreign = sorted(p.name for p in results.iterdir() if p.name not in ours)
        if foreign:
            named = ", ".join(foreign[:MAX_NAMED]) + (f" and {len(foreign) - MAX_NAMED} more" if len(foreign) > MAX_NAMED
                                                      else "")
            raise ConfigError(f"{where}: {results} holds {len(foreign)} file(s) this suite did not write ({named}); "
                              "Allure would count them as results of this run and the suite deletes only what it "
                              "wrote: move them, or give another --report-dir")
        for name in ours - {MANIFEST}:
            path = results / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    files.replace_text(results / MANIFEST, json.dumps({"started": time.time(), "complete": False}) + "\n")


def seal(results: Path) -> None:
    """Record everything now in ``results`` as written by this run (it was empty of anything else at start)."""
    if not results.is_dir() or results.is_symlink():
        return
    written = sorted(p.name for p in results.iterdir() if p.name != MANIFEST)
    files.replace_text(results / MANIFEST, json.dumps({"complete": True, "written": written}, indent=0) + "\n")
