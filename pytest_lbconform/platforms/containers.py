"""Small helpers over the docker SDK: run a command in a container, copy a file into it."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass

from docker.models.containers import Container

from ..errors import InfrastructureError


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


def start(container: Container, argv: list[str]) -> None:
    """Start ``argv`` in ``container`` in the background (a daemon of the node)."""
    container.exec_run(argv, detach=True)


def put_file(container: Container, path: str, content: str | bytes, mode: int = 0o644) -> None:
    """Write ``content`` to ``path`` inside ``container`` (parent directory created)."""
    data = content.encode() if isinstance(content, str) else content
    directory, _, name = path.rpartition("/")
    run(container, ["mkdir", "-p", directory or "/"])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(directory or "/", buf.getvalue()):
        raise InfrastructureError(f"could not copy {path} into {container.name}")
