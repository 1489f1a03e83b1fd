"""Starts a daemon inside a lab node and prints its pid (stdlib only: runs with the node's python3).

    python3 launch.py --log /run/lbconform/keepalived.log -- keepalived -n -l ...

The daemon gets its own session, stdin from /dev/null, and stdout+stderr appended to ``--log`` (a
``docker exec`` in detached mode throws its output away, so a daemon that dies at start would
leave no trace). The launcher exits at once with the daemon's pid on stdout; the host then
confirms the daemon is really up (``containers.start_daemon``) instead of assuming it.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="start a daemon with its output in a log file")
    parser.add_argument("--log", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv[1:])
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    os.makedirs(os.path.dirname(args.log) or "/", exist_ok=True)
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        return 0
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        os.write(2, f"launch: cannot run {command[0]}: {exc}\n".encode())
        os._exit(127)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
