"""Fixtures of the project's own tests. Docker-dependent tests skip locally without an engine,
but fail under CI=true: a green CI that skipped them would prove nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
import pytest

from pytest_lbconform import labels
from pytest_lbconform.config import is_ci
from pytest_lbconform.docker_engine import connect
from pytest_lbconform.errors import EngineUnavailable

ROOT = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    """Where the project's tests leave what a person reads afterwards (mutation score, screenshots):
    ``LBCONFORM_TEST_ARTIFACTS``, else ``<temp dir>/lbconform-test-artifacts`` — never the repository's ``reports/``,
    which belongs to the user's runs of the suites."""
    path = Path(os.environ.get("LBCONFORM_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "lbconform-test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        return connect(timeout=30)
    except EngineUnavailable as exc:
        if is_ci():
            pytest.fail(f"CI=true and this test needs Docker: {exc}", pytrace=False)
        pytest.skip(f"needs a Docker engine: {exc}")


def labelled_objects(client: docker.DockerClient, run_filter: str = labels.RUN) -> list[str]:
    names = [c.name for c in client.containers.list(all=True, filters={"label": run_filter}, ignore_removed=True)]
    return names + [n.name for n in client.networks.list(filters={"label": run_filter})]


#: the IP families a child run judges unless its arguments say (``--address-families``): IPv4, as before IPv6 existed,
#: for the runs that test something else than a family (clean-up, signals, report files, agent starts, the IPv4
#: mutants); the healthy whole-suite run and the IPv6 mutants name theirs (tests/test_mutants.py)
CHILD_FAMILIES = "4"


def run_suite(*args: str, cwd: Path = ROOT, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the conformance suites in a child pytest, as a user would; also return the child's pid
    (every object it creates carries it in the label io.lbconform.pid)."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    if not any(a.startswith("--address-families") for a in args):
        cmd.append(f"--address-families={CHILD_FAMILIES}")
    child = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.communicate(timeout=timeout)
    return subprocess.CompletedProcess(cmd, child.returncode, out, err), child.pid


def created_by(client: docker.DockerClient, pid: int) -> list[str]:
    """Objects created by the pytest process ``pid`` that still exist."""
    return labelled_objects(client, f"{labels.OWNER_PID}={pid}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "timings(**fields): the MetalLB model's Timings (tests/test_kind_model.py)")
