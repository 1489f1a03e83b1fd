"""An engine that accepts the connection and never answers is one line within a stated bound (no real engine used)."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_lbconform.docker_engine import ANSWER_TIMEOUT, connect
from pytest_lbconform.errors import EngineUnavailable
from tests.conftest import ROOT

SUITES = str(ROOT / "pytest_lbconform" / "suites")


@pytest.fixture
def hung_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DOCKER_HOST names a unix socket whose server accepts every connection and never answers."""
    directory = Path(tempfile.mkdtemp(prefix="lbc-hung-"))  # short: a socket path has at most 107 characters
    path = directory / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    yield f"unix://{path}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
    path.unlink()
    directory.rmdir()


def test_a_hung_engine_is_one_line_within_the_answer_timeout(hung_engine):
    start = time.monotonic()
    with pytest.raises(EngineUnavailable) as info:
        connect()  # the default client timeout is 60 s: the check must not wait that long
    took = time.monotonic() - start
    assert ANSWER_TIMEOUT == 10 and took < ANSWER_TIMEOUT + 3, took
    assert str(info.value) == (f"the Docker engine at {hung_engine} did not answer within {ANSWER_TIMEOUT} s (it "
                               "accepted the connection); restart it (e.g. `systemctl restart docker`) or point "
                               "DOCKER_HOST at one that answers")


def test_a_shorter_timeout_bounds_the_check_too(hung_engine):
    start = time.monotonic()
    with pytest.raises(EngineUnavailable, match="did not answer within 2 s"):
        connect(timeout=2)
    assert time.monotonic() - start < 5


def test_a_run_against_a_hung_engine_ends_with_one_line_and_exit_3(pytester, hung_engine, tmp_path):
    """Before: the set-up waited the client's 60 s twice over (the API version, then the ping) before any message."""
    start = time.monotonic()
    result = pytester.runpytest_subprocess(f"--report-dir={tmp_path}", "--proxy-mode=random",
                                           SUITES + "/test_snat.py", timeout=45)
    assert result.ret == 3, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines([f"*lbconform: cannot set up lb=keepalived*the Docker engine at {hung_engine} did "
                                 f"not answer within {ANSWER_TIMEOUT} s*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert time.monotonic() - start < 45
