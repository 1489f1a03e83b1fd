"""The agent session's life, without Docker: Docker's multiplexed exec stream played over a socket pair."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from types import SimpleNamespace

import pytest

from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.probes.session import AgentSession


def frame(payload: bytes, stream: int = 1) -> bytes:
    """One frame of Docker's attach stream: stream type, 3 zero bytes, big-endian length, payload."""
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class FakeSessions:
    """Each ``_start`` gets a fresh socket pair; the far end answers like the agent would (or as told)."""

    def __init__(self, answer) -> None:
        self.answer, self.started, self.far = answer, 0, []

    def start(self, session: AgentSession) -> None:
        near, far = socket.socketpair()
        self.started += 1
        self.far.append(far)
        session._sock = near
        session._reader = threading.Thread(target=session._read, args=(near,), daemon=True)
        session._reader.start()
        threading.Thread(target=self._serve, args=(far,), daemon=True).start()

    def _serve(self, far: socket.socket) -> None:
        buffer = b""
        while True:
            data = far.recv(65536)
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                out = self.answer(json.loads(line))
                if out is not None:
                    far.sendall(frame(out))


def session_with(monkeypatch, answer) -> tuple[AgentSession, FakeSessions]:
    fakes = FakeSessions(answer)
    session = AgentSession(None, SimpleNamespace(name="lbc-x-mypc", id="x"), ["python3", "agent.py", "serve"])
    monkeypatch.setattr(session, "_start", lambda: fakes.start(session))
    return session, fakes


def test_a_call_is_answered_by_its_id(monkeypatch):
    session, _ = session_with(monkeypatch, lambda r: b"R " + json.dumps({"id": r["id"], "result": {"echo": r["args"]}})
                              .encode() + b"\n")
    assert session.call("selftest", {"a": 1}, budget=5) == {"echo": {"a": 1}}
    assert session.call("selftest", {"a": 2}, budget=5) == {"echo": {"a": 2}}


def test_a_line_the_driver_cannot_read_ends_the_session_at_once_not_after_the_budget(monkeypatch):
    session, _ = session_with(monkeypatch, lambda r: b'R {"id": null}\n')
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="cannot read"):
        session.call("arp", {}, budget=30)
    assert time.monotonic() - start < 5
    assert session._sock is None  # the next call starts a new session


def test_a_stale_reader_ending_late_leaves_the_new_session_alone(monkeypatch):
    session, fakes = session_with(monkeypatch, lambda r: b"R " + json.dumps({"id": r["id"], "result": {}}).encode()
                                  + b"\n")
    session.call("selftest", {}, budget=5)
    old = session._sock
    session.close()
    session.call("selftest", {}, budget=5)  # a new session
    new = session._sock
    session._end(old, "the old reader ended late")  # what a late reader of the first session does
    assert session._sock is new and fakes.started == 2
    assert session.call("selftest", {}, budget=5) == {} and fakes.started == 2


def test_an_agent_error_is_one_infrastructure_error_naming_the_client(monkeypatch):
    session, _ = session_with(monkeypatch, lambda r: b"R " + json.dumps({"id": r["id"], "error": "arp: OSError: x"})
                              .encode() + b"\n")
    with pytest.raises(InfrastructureError, match="probe in lbc-x-mypc failed: arp: OSError: x"):
        session.call("arp", {}, budget=5)
