"""The built wheel carries the suites and their data: in a fresh virtualenv holding only the wheel (and
its dependencies), the README's command runs the suites on the lab from an empty directory."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, created_by

#: the README's command for an installed wheel (the -k narrows it to one check to keep the test short)
COMMAND = ["-m", "pytest", "--pyargs", "pytest_lbconform.suites", "--lb=keepalived"]


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=600)
    (wheel,) = out.glob("pytest_lbconform-*.whl")
    return wheel


pytestmark = pytest.mark.xdist_group("wheel")


def test_the_wheel_runs_the_suites_from_an_empty_directory(docker_client, tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("pytest_lbconform/suites/test_failover.py", "pytest_lbconform/fixtures/lab/Dockerfile",
                    "pytest_lbconform/fixtures/providers/keepalived.yaml", "pytest_lbconform/fixtures/kind/cluster.yaml",
                    "pytest_lbconform/fixtures/schema/conformance-v1alpha1.schema.json"):
        assert shipped in names, f"{shipped} is not in {wheel.name}"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, text=True, timeout=900)
    empty = tmp_path / "empty"
    empty.mkdir()
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import pytest_lbconform; print(pytest_lbconform.__file__)"], cwd=empty,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv)), where
    child = subprocess.Popen([python, *COMMAND, "--proxy-mode=rr", "-p", "no:cacheprovider",
                              "-k", "test_exactly_one_node_answers_arp"], cwd=empty, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    out, err = child.communicate(timeout=900)
    assert child.returncode == 0, out[-3000:] + err[-2000:]
    assert "6 passed" in out  # svc1..3 in IPv4 and IPv6: the lab is dual-stack by default
    report = json.loads((empty / "reports" / "conformance.json").read_text())
    assert report["implementation"]["provider"] == "keepalived"
    assert list(empty.iterdir()) == [empty / "reports"], "the run wrote outside reports/"
    assert not created_by(docker_client, child.pid), "the run left labelled objects behind"
