"""Starts a daemon inside a lab node and confirms it is up (stdlib only: runs with the node's python3).

    python3 launch.py --log /run/lbconform/keepalived.log --budget 30 --ready child=keepalived \
        --ready raw-socket=112 -- keepalived -n -l ...

The daemon gets its own session, stdin from /dev/null, and stdout+stderr appended to ``--log`` (a
``docker exec`` in detached mode throws its output away, so a daemon that dies at start would
leave no trace). The launcher then waits, at most ``--budget`` seconds, until the daemon is alive and
every ``--ready`` check holds (without checks: it has lived ``MIN_ALIVE_S``), and prints one JSON line:
``{"pid": N, "alive": true, "missing": null}`` once it is up, else what is still missing (or that the
process exited). Checking inside the node costs one ``docker exec`` per start instead of one per poll (the
host confirms from that line; ``containers.start_daemon``).

Readiness checks:
- ``http=URL``: a GET of URL answers 200;
- ``child=NAME``: the daemon has a child process named NAME (keepalived's VRRP process);
- ``raw-socket=PROTO``: a raw socket of IP protocol PROTO is open in the node (112: VRRP).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable

POLL_S = 0.05
MIN_ALIVE_S = 0.2  #: without a readiness check, up means alive this long at least (a failed exec dies sooner)


def _alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie (reaped children of the launcher never are: it exits first)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return False


def _http(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return None if answer.status == 200 else f"HTTP {answer.status} from {url}"
    except Exception as exc:  # refused, reset, timed out: not up yet
        return f"no HTTP 200 from {url} ({type(exc).__name__})"


def _child(pid: int, name: str) -> str | None:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read()
        except OSError:
            continue
        comm = fields[fields.find("(") + 1:fields.rfind(")")]
        if comm == name and fields.rpartition(")")[2].split()[1:2] == [str(pid)]:
            return None
    return f"no {name} child process yet"


def _raw_socket(proto: int) -> str | None:
    try:
        with open("/proc/net/raw") as fh:
            lines = fh.read().splitlines()[1:]
    except OSError:
        lines = []
    if any(len(line.split()) > 1 and line.split()[1].endswith(f":{proto:04X}") for line in lines):
        return None
    return f"no raw socket of IP protocol {proto} open"


def readiness(spec: str) -> Callable[[int], str | None]:
    """A check from ``KIND=VALUE``, read before anything starts: given the daemon's pid, None when it holds, else
    what is missing."""
    kind, _, value = spec.partition("=")
    if kind == "http" and value:
        return lambda pid: _http(value)
    if kind == "child" and value:
        return lambda pid: _child(pid, value)
    if kind == "raw-socket" and value.isdigit():
        return lambda pid: _raw_socket(int(value))
    raise SystemExit(f"launch: unknown readiness check {spec!r} (http=URL, child=NAME, raw-socket=PROTO)")


def _start(command: list[str], log_path: str) -> int:
    os.makedirs(os.path.dirname(log_path) or "/", exist_ok=True)
    pid = os.fork()
    if pid:
        return pid
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        os.write(2, f"launch: cannot run {command[0]}: {exc}\n".encode())
    os._exit(127)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="start a daemon with its output in a log file, confirm it is up")
    parser.add_argument("--log", required=True)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds for the daemon to be up")
    parser.add_argument("--ready", action="append", default=[], help="http=URL, child=NAME or raw-socket=PROTO")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv[1:])
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    checks = [readiness(spec) for spec in args.ready]  # a bad spec ends here, before the daemon exists
    started = time.monotonic()
    pid = _start(command, args.log)
    deadline = started + args.budget
    missing: str | None = None
    while True:
        alive = _alive(pid)
        missing = None if not alive else next((m for m in (check(pid) for check in checks) if m), None)
        if missing is None and alive and not checks and time.monotonic() - started < MIN_ALIVE_S:
            missing = f"alive for less than {MIN_ALIVE_S} s"  # a command that cannot start dies within that
        if not alive or missing is None or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    print(json.dumps({"pid": pid, "alive": alive, "missing": missing if alive else "the process exited",
                      "budget": args.budget}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
