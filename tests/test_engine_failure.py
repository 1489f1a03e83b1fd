"""The engine stops answering in the middle of a run: the run stops with one line naming the step, the
checks not run are inconclusive (never an LB failure), and no traceback is printed.

The child reaches the engine through a socket proxy here; cutting the proxy is the engine going away
for that run only (the real engine, and other runs on it, are untouched)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pytest_lbconform import labels, reaper
from tests.conftest import ROOT, created_by

pytestmark = pytest.mark.xdist_group("engine-failure-lab")
ENGINE = "/var/run/docker.sock"


class EngineProxy:
    """A unix socket that forwards every connection to the engine's until :meth:`cut`."""

    def __init__(self, path: Path) -> None:
        self.path, self.open = path, []
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.listener.close()
        os.unlink(self.path)
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def test_an_engine_gone_mid_run_stops_the_run_with_one_line(docker_client, tmp_path):
    proxy = EngineProxy(tmp_path / "engine.sock")
    env = {**os.environ, "DOCKER_HOST": f"unix://{proxy.path}"}
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--proxy-mode=random",
                                  f"--report-dir={tmp_path}", "pytest_lbconform/suites/test_snat.py",
                                  "pytest_lbconform/suites/test_balancing.py"],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert child.stdout is not None
    seen: list[str] = []
    try:
        for line in child.stdout:  # until the first check has passed: the run is in the middle of its checks
            seen.append(line)
            if " PASSED" in line:
                break
        proxy.cut()
        out = "".join(seen) + child.stdout.read()
        child.wait(timeout=300)
    finally:
        child.kill()
        for run_id in {c.labels[labels.RUN] for c in docker_client.containers.list(
                all=True, filters={"label": f"{labels.OWNER_PID}={child.pid}"})}:
            reaper.remove_run(docker_client, run_id)  # the child could not: its engine was gone
    assert child.returncode != 0, out[-3000:]
    assert "Traceback" not in out and "INTERNALERROR" not in out, out[-3000:]
    assert out.count("[inconclusive: infrastructure]") <= 2, out[-3000:]
    assert "lbconform: the Docker engine stopped answering during" in out, out[-3000:]
    report = json.loads((tmp_path / "conformance.json").read_text())
    outcomes = [c["outcome"] for p in report["profiles"] for c in p["checks"]]
    assert "failed" not in outcomes and "inconclusive" in outcomes, outcomes
    assert not created_by(docker_client, child.pid)
