"""Running a program on the host (no shell): one place that turns a failure into one line.

Used for ``nft``, ``ip``, ``kind`` and ``debootstrap``; commands inside containers go through
``platforms/containers.run`` (the Docker exec API)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from .errors import InfrastructureError, LbconformError

TAIL = 3  #: stderr lines quoted in an error

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def run(argv: list[str], what: str, *, stdin: str | None = None, timeout: float | None = None, check: bool = True,
        error: type[LbconformError] = InfrastructureError, runner: Runner = subprocess.run,
        ) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; with ``check``, a nonzero exit, a missing program or a timeout raises ``error``:
    "``what`` failed (exit N): <last lines of stderr>". Without ``check`` only a missing program or a
    timeout raises (the caller reads the exit code)."""
    try:
        proc = runner(argv, input=stdin, capture_output=True, text=True, check=False, timeout=timeout)
    except FileNotFoundError as exc:
        raise error(f"{what}: {argv[0]} is not installed (not on PATH)") from exc
    except subprocess.TimeoutExpired as exc:
        raise error(f"{what}: no answer within {timeout:g} s") from exc
    if check and proc.returncode != 0:
        raise error(f"{what} failed (exit {proc.returncode}): {tail(proc)}")
    return proc


def tail(proc: subprocess.CompletedProcess[str]) -> str:
    """The last lines of what a failed command said (stderr, else stdout), joined with `` | ``."""
    return " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-TAIL:]) or "(no output)"
