"""What a run owns in the report directory: the Allure results it wrote and its evidence files — and nothing else.

allure-pytest's ``--clean-alluredir`` deletes the whole folder; a report directory a user points at may hold
files of their own there. Each run records what it wrote in a manifest (``allure-results/.lbconform-results.json``:
the names in allure-results, the paths under ``evidence/``); the next run removes exactly those, and only entries
that are plain names of that folder (a manifest is a file in a shared folder: a name with a path separator, ``..``
or an absolute path is never followed). A file this suite did not write is never touched:

- in ``allure-results/`` the run is refused in one line before anything starts, because Allure would count such a
  file as a result of this run;
- in ``evidence/`` it is left as it is (the certification page links only this run's files).

A run holds a lock on the folder while it writes (``.lbconform-results.lock``): a second run pointed at the same
report directory is refused instead of deleting the first one's results. A run killed with -9 leaves its manifest
marked incomplete: its files are not listed, so the next run refuses and says to remove the folder (guessing
which files were that run's could delete a user's).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO

from ..errors import ConfigError
from . import files
from .evidence import EVIDENCE_DIR

MANIFEST = ".lbconform-results.json"
LOCK = ".lbconform-results.lock"
EVIDENCE = EVIDENCE_DIR  #: the evidence folder beside allure-results (report/evidence.py writes it)
MAX_NAMED = 3  #: foreign files named in the refusal


def _read_manifest(results: Path) -> dict[str, object]:
    path = results / MANIFEST
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"complete": False}
    return data if isinstance(data, dict) else {"complete": False}


def _plain(name: object) -> bool:
    """A single path component: no separator, not ``.``/``..``/empty (never followed out of its folder)."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def _listed_evidence(report_dir: Path, manifest: dict[str, object]) -> list[Path]:
    """The evidence files the last run listed, each ``evidence/<test>/<file>`` with plain names, as they exist now."""
    out = []
    listed = manifest.get("evidence")
    for entry in listed if isinstance(listed, list) else []:
        parts = entry.split("/") if isinstance(entry, str) else []
        if len(parts) == 2 and all(_plain(p) for p in parts):
            path = report_dir / EVIDENCE / parts[0] / parts[1]
            if path.is_file() and not path.is_symlink() and not (report_dir / EVIDENCE / parts[0]).is_symlink():
                out.append(path)
    return out


def claim(report_dir: Path, results: Path, where: str) -> IO[str]:
    """Take ``results`` for this run: lock it, remove what the previous run of this suite listed (in allure-results
    and under ``evidence/``), mark it as this run's (incomplete until :func:`seal`) and return the held lock (closed
    by :func:`seal`). Raise :class:`ConfigError`, having removed nothing, when the folder is not a plain directory,
    another run holds it, the last run did not finish, or it holds files this suite did not write."""
    if results.is_symlink() or (results.exists() and not results.is_dir()):
        raise ConfigError(f"{where}: {results} is not a directory this suite can write Allure results into; "
                          "give a report directory whose allure-results is a plain folder (or absent)")
    results.mkdir(parents=True, exist_ok=True)
    lock_path = results / LOCK
    if lock_path.is_symlink():
        raise ConfigError(f"{where}: {lock_path} is a symlink; remove it")
    created = not lock_path.exists()
    lock = lock_path.open("a", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise ConfigError(f"{where}: another pytest-lbconform run is writing into {results}; wait for it, or give "
                          "another --report-dir") from None
    try:
        _empty(report_dir, results, where)
        files.replace_text(results / MANIFEST, json.dumps({"complete": False, "pid": os.getpid()}) + "\n")
    except BaseException:
        lock.close()
        if created:  # refused: the folder is left as it was found
            lock_path.unlink(missing_ok=True)
        raise
    return lock


def _empty(report_dir: Path, results: Path, where: str) -> None:
    manifest = _read_manifest(results)
    entries = {p.name for p in results.iterdir()} - {MANIFEST, LOCK}
    if manifest and manifest.get("complete") is not True:
        raise ConfigError(f"{where}: the last run writing into {results} did not finish (killed?), so what it wrote "
                          "is not known; remove that folder, or give another --report-dir")
    written = manifest.get("written")
    listed = {n for n in written if _plain(n)} & entries if isinstance(written, list) else set()
    foreign = sorted(entries - listed)
    if foreign:
        named = ", ".join(foreign[:MAX_NAMED]) + (f" and {len(foreign) - MAX_NAMED} more" if len(foreign) > MAX_NAMED
                                                  else "")
        raise ConfigError(f"{where}: {results} holds {len(foreign)} file(s) this suite did not write ({named}); "
                          "Allure would count them as results of this run and the suite deletes only what it "
                          "wrote: move them, or give another --report-dir")
    for name in listed:
        path = results / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for path in _listed_evidence(report_dir, manifest):
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()


def seal(report_dir: Path, results: Path, lock: IO[str], evidence: list[str]) -> None:
    """Record what this run wrote — everything now in ``results`` (it held nothing else at the start) and its
    ``evidence`` files (``<test>/<file>`` under ``evidence/``) — and release the lock."""
    try:
        if results.is_dir() and not results.is_symlink():
            written = sorted(p.name for p in results.iterdir() if p.name not in (MANIFEST, LOCK))
            files.replace_text(results / MANIFEST, json.dumps({"complete": True, "written": written,
                                                               "evidence": sorted(set(evidence))}, indent=0) + "\n")
    finally:
        lock.close()
