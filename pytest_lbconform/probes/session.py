"""One long-lived probe agent per client (``agent.py serve``), spoken to over its ``docker exec`` stdin/stdout.

Each short probe (ARP burst, HTTP burst, neighbour entry) used to start Python and scapy in the client
(≈ 0.25 s a call, more on a busy machine, often on a check's critical path); the session starts them once.
Requests are JSON lines ``{"id", "cmd", "args"}``; the agent runs each in a thread of its own (a check may
ask for ARP while another thread waits for an HTTP burst) and answers ``R {"id", "result"|"error"}``.
The stream is Docker's multiplexed exec stream (stdout/stderr frames), so it works wherever the engine is
(local socket, ``DOCKER_HOST``). A session that ended (its client gone) fails every pending call with an
:class:`InfrastructureError` naming the client and the agent's last error output; the next call starts anew.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import docker
from docker.models.containers import Container
from docker.utils.socket import STDOUT, frames_iter

from ..errors import InfrastructureError

STDERR_TAIL = 20  #: lines of the agent's error output kept for the message when the session ends


class AgentSession:
    """The agent process serving requests in one client container."""

    def __init__(self, client: docker.DockerClient, container: Container, argv: list[str]) -> None:
        self.client, self.container, self.argv = client, container, argv
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  #: guards the socket's writes, ``_pending`` and the session's life
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL)
        self._sock: Any = None
        self._reader: threading.Thread | None = None

    def _start(self) -> None:
        api = self.client.api
        exec_id = api.exec_create(self.container.id, self.argv, stdin=True, stdout=True, stderr=True)["Id"]
        self._sock = api.exec_start(exec_id, socket=True)
        self._reader = threading.Thread(target=self._read, args=(self._sock,), daemon=True,
                                        name=f"agent-session-{self.container.name}")
        self._reader.start()

    def call(self, command: str, args: dict[str, Any], budget: float) -> dict[str, Any]:
        """Run ``command`` with ``args`` in the agent and return its result; an :class:`InfrastructureError` when
        the agent reports an error, the session ends, or no answer comes within ``budget`` seconds."""
        request_id = next(self._ids)
        answer: Future[dict[str, Any]] = Future()
        line = (json.dumps({"id": request_id, "cmd": command, "args": args}) + "\n").encode()
        with self._lock:
            if self._sock is None:
                self._start()
            self._pending[request_id] = answer
            sock = self._sock
            try:
                _raw(sock).sendall(line)
            except OSError as exc:
                self._pending.pop(request_id, None)
                self._end(sock, f"sending {command} failed: {exc}")
                raise InfrastructureError(f"probe {command} in {self.container.name}: the agent session is gone "
                                          f"({exc})") from exc
        try:
            return answer.result(budget)
        except FutureTimeout:
            with self._lock:
                self._pending.pop(request_id, None)
            raise InfrastructureError(f"probe {command} in {self.container.name}: no answer within {budget:g} s"
                                      ) from None

    def close(self) -> None:
        """End the session: the agent reads end-of-input and exits."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                _raw(sock).shutdown(socket.SHUT_RDWR)
            sock.close()

    def _read(self, sock: Any) -> None:
        buffer = b""
        why = "the agent session ended"
        try:
            frames: Iterator[tuple[int, bytes]] = frames_iter(sock, tty=False)  # type: ignore[no-untyped-call]
            for stream, data in frames:
                if stream != STDOUT:
                    self._stderr.extend(data.decode(errors="replace").splitlines())
                    continue
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._answer(line.decode(errors="replace"))
        except Exception as exc:  # whatever ends the reader ends the session: every waiting call hears it at once
            why = f"reading the agent session failed: {type(exc).__name__}: {exc}"
        finally:
            self._end(sock, why)

    def _answer(self, line: str) -> None:
        if not line.startswith("R "):
            return
        try:
            reply = json.loads(line[2:])
            request_id = int(reply["id"])
            error = str(reply["error"]) if "error" in reply else None
            result: dict[str, Any] = {} if error is not None else reply["result"]
            if not isinstance(result, dict):
                raise TypeError(f"a result is a JSON object, not {type(result).__name__}")
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"the agent answered a line this driver cannot read ({exc}): {line[:200]!r}") from exc
        with self._lock:
            answer = self._pending.pop(request_id, None)
        if answer is None:
            return
        if error is not None:
            answer.set_exception(InfrastructureError(f"probe in {self.container.name} failed: {error}"))
        else:
            answer.set_result(result)

    def _end(self, sock: Any, why: str) -> None:
        """End the session of ``sock`` (a session started since is left alone): close it and fail every call it
        still owed; the next call starts a new session."""
        with self._lock:
            if self._sock is not sock:
                return
            pending, self._pending = self._pending, {}
            self._sock = None
        with contextlib.suppress(OSError):
            sock.close()
        detail = " | ".join(list(self._stderr)[-3:])
        for answer in pending.values():
            answer.set_exception(InfrastructureError(f"probe in {self.container.name}: {why}"
                                                     + (f" ({detail})" if detail else "")))


def _raw(sock: Any) -> Any:
    """The socket to write to: docker-py returns a ``SocketIO`` around it for local engines."""
    return getattr(sock, "_sock", sock)
