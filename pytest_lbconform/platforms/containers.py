"""Small helpers over the docker SDK: run a command in a container, copy a file into it, start a
daemon in it and confirm that it came up."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docker.models.containers import Container

from ..errors import InfrastructureError
from . import launch

LAUNCHER_PATH = "/opt/lbconform/launch.py"
#: per-boot (``/run`` is a tmpfs in lab nodes, as in kind nodes): nothing survives a node restart
LOG_DIR = "/run/lbconform"
LOG_TAIL = 8  #: log lines quoted when a daemon does not come up


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def run(container: Container, argv: list[str], *, check: bool = True) -> ExecResult:
    """Run ``argv`` (no shell) in ``container``; with ``check`` a nonzero exit raises with stderr."""
    code, output = container.exec_run(argv, demux=True)
    out, err = output if isinstance(output, tuple) else (output, None)
    result = ExecResult(int(code or 0), _text(out), _text(err))
    if check and result.exit_code != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise InfrastructureError(
            f"`{' '.join(argv)}` in {container.name} exited {result.exit_code}: {' | '.join(detail)}"
        )
    return result


def _text(raw: object) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else ""


def start_daemon(container: Container, name: str, argv: list[str], *, ready: Sequence[str] = (),
                 budget: float = 10.0) -> int:
    """Start ``argv`` as a daemon in ``container`` and return its pid once it is confirmed up.

    Confirmed means: the process is alive and every ``ready`` check holds (``launch.py``: ``http=URL`` answers 200,
    ``child=NAME`` exists, ``raw-socket=PROTO`` is open), within ``budget`` seconds — checked inside the node by
    the launcher, one ``docker exec`` per start. Otherwise one :class:`InfrastructureError` names the container,
    the daemon, what was missing, and the last lines of its log (``LOG_DIR/<name>.log``).
    """
    log = f"{LOG_DIR}/{name}.log"
    put_file(container, LAUNCHER_PATH, Path(launch.__file__).read_text())
    checks = [arg for spec in ready for arg in ("--ready", spec)]
    started = run(container, ["python3", LAUNCHER_PATH, "--log", log, "--budget", str(budget), *checks, "--", *argv])
    try:
        state = json.loads(started.stdout.strip().splitlines()[-1])
        pid, problem = int(state["pid"]), state["missing"]
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise InfrastructureError(f"starting {name} in {container.name}: the launcher printed no state "
                                  f"({(started.stderr or started.stdout).strip()[-200:]})") from exc
    if problem is not None:
        raise InfrastructureError(f"{name} did not start in {container.name}: {problem} (within {budget:g} s); "
                                  f"last log lines ({log}): {log_tail(container, log)}")
    return pid


def process_alive(container: Container, pid: int) -> bool:
    """``pid`` exists in ``container`` and is not a zombie."""
    res = run(container, ["cat", f"/proc/{pid}/stat"], check=False)
    if res.exit_code != 0:
        return False
    state = res.stdout.rpartition(")")[2].split()[:1]  # the field after "(comm)"
    return state != ["Z"]


def log_tail(container: Container, path: str, lines: int = LOG_TAIL) -> str:
    """The last ``lines`` of ``path`` in ``container``, joined with `` | `` (or why there are none)."""
    res = run(container, ["tail", "-n", str(lines), path], check=False)
    text = [line for line in res.stdout.strip().splitlines() if line.strip()]
    return " | ".join(text) if text else "(empty)" if res.exit_code == 0 else "(no log file)"


def put_file(container: Container, path: str, content: str | bytes, mode: int = 0o644) -> None:
    """Write ``content`` to ``path`` inside ``container``: one archive extracted at ``/``, no ``docker exec`` (the
    engine creates missing parent directories, 0755, when it unpacks: moby pkg/archive ``Unpack``)."""
    put_files(container, {path: content}, mode)


def put_files(container: Container, contents: dict[str, str | bytes], mode: int = 0o644) -> None:
    """Write several files into ``container`` in one archive (parent directories created)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:  # no directory entries: they would chmod existing ones (/tmp)
        for path, content in contents.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive("/", buf.getvalue()):
        raise InfrastructureError(f"could not copy {', '.join(contents)} into {container.name}")
