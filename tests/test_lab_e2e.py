"""End to end on the Docker lab: the suite as a user runs it, and nothing left behind afterwards."""

import json
import signal
import subprocess
import sys
import time

from pytest_lbconform import labels
from tests.conftest import ROOT, labelled_objects, run_suite


def test_arp_suite_passes_on_the_reference_lb_and_cleans_up(docker_client, tmp_path):
    before = set(labelled_objects(docker_client))
    result = run_suite("--lb=keepalived", "--proxy-mode=random", f"--report-dir={tmp_path}",
                       "suites/test_arp_ownership.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
    assert not set(labelled_objects(docker_client)) - before, "the run left labelled containers or networks"
    report = json.loads((tmp_path / "conformance.json").read_text())
    checks = [c for p in report["profiles"] for c in p["checks"]]
    assert len(checks) == 3 and all(c["outcome"] == "passed" for c in checks)
    assert all(c["verdicts"][0]["figures"]["macs"] for c in checks)
    assert list((tmp_path / "allure-results").glob("*-attachment.pcap"))


def test_keep_leaves_the_lab_up_for_inspection(docker_client, tmp_path):
    result = run_suite("--keep", "--proxy-mode=rr", f"--report-dir={tmp_path}",
                       "suites/test_arp_ownership.py::test_exactly_one_node_answers_arp")
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        kept = [c for c in docker_client.containers.list(all=True, filters={"label": labels.RUN})
                if c.labels.get(labels.OWNER_PID) and c.name.endswith("-worker2")]
        assert kept, "--keep removed the lab"
        assert "--keep: lab" in result.stdout
    finally:
        from pytest_lbconform.platforms.lab import remove_stale
        remove_stale(docker_client)
    assert not [n for n in labelled_objects(docker_client) if n in {c.name for c in kept}]


def test_ctrl_c_during_a_run_removes_the_lab(docker_client, tmp_path):
    before = set(labelled_objects(docker_client))
    child = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--proxy-mode=random",
                              f"--report-dir={tmp_path}", "suites/test_arp_ownership.py"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (set(labelled_objects(docker_client)) - before):
        time.sleep(0.2)  # polling for the lab to appear (a condition with a deadline)
    assert set(labelled_objects(docker_client)) - before, "the lab never came up"
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=120)
    assert child.returncode != 0
    assert not set(labelled_objects(docker_client)) - before, out[-2000:]
