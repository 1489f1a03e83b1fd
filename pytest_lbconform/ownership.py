"""Who made an object, and whether that run is provably over.

Every object a run creates carries its owner's token: the kernel's boot id, the PID namespace, the
pid and the process's start time (clock ticks after boot, ``/proc/<pid>/stat`` field 22). A pid alone
proves nothing: it may belong to another PID namespace (a run in a container sharing the engine) or
have been reused. The reaper removes a run's objects only when :func:`judge` says ``dead``:

- same boot and PID namespace, and the pid is gone or now has another start time;
- or the owner ran in an earlier boot of this very machine (same machine id, other boot id).

Anything else (another host, another namespace, no token, ``--keep``) is left alone and said.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

#: the prefix of every label a run puts on what it creates (``labels`` builds on this module, never the reverse)
PREFIX = "io.lbconform"

OWNER = f"{PREFIX}.owner"      #: ``<boot id>/<pid namespace>/<pid>/<start time>`` of the process that made it
MACHINE = f"{PREFIX}.machine"  #: the machine id of that process's host
SESSION = f"{PREFIX}.session"  #: the owner token of the pytest run (the xdist controller for a worker's objects)
KEEP = f"{PREFIX}.keep"        #: made by a ``--keep`` run: never reaped, removed by the command the run printed

PROC = Path("/proc")


@dataclass(frozen=True)
class Owner:
    boot_id: str
    pidns: str
    pid: int
    start: int

    @property
    def token(self) -> str:
        return f"{self.boot_id}/{self.pidns}/{self.pid}/{self.start}"

    @classmethod
    def parse(cls, token: str) -> Owner | None:
        parts = token.split("/")
        if len(parts) != 4 or not all(parts) or not parts[2].isdigit() or not parts[3].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), int(parts[3]))


def start_time(pid: int, proc: Path = PROC) -> int | None:
    """The start time of ``pid`` in clock ticks after boot, None when there is no such process."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # fields from 3 on; the command name may hold spaces and ")"
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def owner_of(pid: int, proc: Path = PROC) -> Owner:
    """The token of ``pid`` in this kernel and PID namespace."""
    boot = (proc / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    pidns = str(os.stat(proc / "self" / "ns" / "pid").st_ino)
    start = start_time(pid, proc)
    if start is None:
        raise ProcessLookupError(pid)
    return Owner(boot, pidns, pid, start)


@cache
def me() -> Owner:
    """This process's token."""
    return owner_of(os.getpid())


@cache
def machine_id() -> str:
    """``/etc/machine-id`` (systemd's, or D-Bus's), empty when the host has none."""
    for path in (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id")):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return ""


State = Literal["alive", "dead", "unknown", "kept"]


@dataclass(frozen=True)
class Liveness:
    state: State
    reason: str


def judge(object_labels: Mapping[str, str], mine: Owner, my_machine: str, proc: Path = PROC) -> Liveness:
    """Whether the run that made an object with ``object_labels`` is provably over, seen from ``mine``."""
    if object_labels.get(KEEP):
        return Liveness("kept", "made by a --keep run")
    owner = Owner.parse(object_labels.get(OWNER, ""))
    if owner is None:
        return Liveness("unknown", "it carries no owner token (made by an older pytest-lbconform)")
    if owner.boot_id != mine.boot_id:
        if my_machine and object_labels.get(MACHINE) == my_machine:
            return Liveness("dead", f"its run (pid {owner.pid}) was in an earlier boot of this machine")
        return Liveness("unknown", "it was made on another host or kernel sharing this engine")
    if owner.pidns != mine.pidns:
        return Liveness("unknown", f"it was made in another PID namespace (pid {owner.pid} there)")
    start = start_time(owner.pid, proc)
    if start is None:
        return Liveness("dead", f"its run's process {owner.pid} is gone")
    if start != owner.start:
        return Liveness("dead", f"its run's pid {owner.pid} now belongs to another process")
    return Liveness("alive", f"its run's process {owner.pid} is running")


@dataclass
class _Run:
    """What every object of this process is labelled with (set once by the plugin)."""

    session: str = ""
    keep: bool = False


RUN = _Run()


def configure(session: str, keep: bool) -> None:
    """Record the pytest run's token (the xdist controller's in a worker) and whether it keeps its objects."""
    RUN.session, RUN.keep = session, keep


def labels() -> dict[str, str]:
    """The ownership labels of an object this process creates now."""
    token = me().token
    return {OWNER: token, MACHINE: machine_id(), SESSION: RUN.session or token, **({KEEP: "1"} if RUN.keep else {})}
