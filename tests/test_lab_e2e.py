"""End to end on the Docker lab: the suite as a user runs it, and nothing left behind afterwards."""

import json
import os
import signal
import subprocess
import sys
import time

from pytest_lbconform import labels, ownership, reaper
from tests.conftest import ROOT, created_by, labelled_objects, run_suite


def test_arp_suite_passes_on_the_reference_lb_and_cleans_up(docker_client, tmp_path):
    result, pid = run_suite("--lb=keepalived", "--proxy-mode=random", f"--report-dir={tmp_path}",
                            "pytest_lbconform/suites/test_arp_ownership.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout
    assert not created_by(docker_client, pid), "the run left labelled containers or networks"
    report = json.loads((tmp_path / "conformance.json").read_text())
    every = [c for p in report["profiles"] for c in p["checks"]]
    checks = [c for c in every if "-v6" not in c["id"] and "v4+v6" not in c["id"]]  # run_suite: IPv4 (conftest.py)
    assert len(checks) == 6 and all(c["outcome"] == "passed" for c in checks)
    assert len(every) == 12 and all(c["outcome"] == "skipped" and c["message"].startswith("IPv6 not judged in this run")
                                    for c in every if c not in checks)
    ownership = [v for c in checks for v in c["verdicts"] if v["check"] == "arp-ownership"]
    assert len(ownership) == 3 + 3 and all(len(v["figures"]["macs"]) == 1 for v in ownership)
    assert list((tmp_path / "allure-results").glob("*-attachment.pcap"))
    befores = [b for c in (tmp_path / "allure-results").glob("*-container.json")
               for b in json.loads(c.read_text()).get("befores", []) if b["name"] == "lb"]
    shown = {a["name"] for b in befores for a in b.get("attachments", [])}
    assert {"set-up random: topology, services, backends", "set-up random: worker nft ruleset",
            "set-up random: worker keepalived.conf"} <= shown, shown  # the set-up evidence of the mode
    texts = [p.read_text() for p in (tmp_path / "allure-results").glob("*-attachment.txt")]
    frames = [t for t in texts if t.startswith("# ") and " frames; times in seconds after " in t]
    who_has = [t for t in frames if " is-at " in t]  # each who-has capture also as text: 3 VIPs × 3 checks
    assert len(who_has) == 9, frames  # (one owner each, every service's own owner, owners spread as intended)
    assert len(list((tmp_path / "evidence").glob("*/*.pcap"))) >= 9  # and beside the certification page
    categories = json.loads((tmp_path / "allure-results" / "categories.json").read_text())
    assert "multiple ARP owners" in {c["name"] for c in categories}
    assert "lb=keepalived" in (tmp_path / "allure-results" / "environment.properties").read_text()


def test_a_run_writes_and_deletes_only_its_own_files_in_every_folder_it_writes(docker_client, tmp_path):
    """A user's files beside the reports, in evidence/ (also in a folder of a check this run writes), in the Allure
    report folders and an older history stay byte for byte; the second run removes the first run's Allure results
    (its manifest) and nothing else."""
    check = "pytest_lbconform/suites/test_arp_ownership.py::test_vips_are_spread_over_nodes_as_the_provider_intends"
    slug = "test_vips_are_spread_over_nodes_as_the_provider_intends_lab-random"
    users = {tmp_path / "notes.txt": "mine", tmp_path / "evidence" / "mine.txt": "ev",
             tmp_path / "evidence" / slug / "mine.txt": "in a check's folder", tmp_path / "plots" / "mine.png": "png",
             tmp_path / "history.old.csv": "old\n", tmp_path / "allure-report" / "mine.html": "<p>",
             tmp_path / "allure2-report" / "history" / "mine.json": "{}"}
    for path, text in users.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for _ in range(2):
        result, pid = run_suite("--lb=keepalived", "--proxy-mode=random", f"--report-dir={tmp_path}", check)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert {path: path.read_text() for path in users} == users
        assert not created_by(docker_client, pid)
    results = [p for p in (tmp_path / "allure-results").iterdir() if p.name.endswith("-result.json")]
    assert len(results) == 1, "the second run removed the first run's Allure results, and only them"
    assert list((tmp_path / "evidence" / slug).glob("*.pcap"))


def test_keep_leaves_the_lab_up_for_inspection(docker_client, tmp_path):
    result, pid = run_suite("--keep", "--proxy-mode=rr", f"--report-dir={tmp_path}",
                            "pytest_lbconform/suites/test_arp_ownership.py::test_exactly_one_node_answers_arp")
    try:
        assert result.returncode == 0, result.stdout[-3000:]
        kept = created_by(docker_client, pid)
        assert any(name.endswith("-worker2") for name in kept), "--keep removed the lab"
        assert "--keep: lab" in result.stdout
        reaper.reap(docker_client)  # the child has exited, but a kept lab is never reaped
        assert created_by(docker_client, pid) == kept
        command = result.stdout.split("(remove with: ", 1)[1].split(")\n", 1)[0]
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)  # the command the run printed
    finally:
        for run_id in {c.labels[labels.RUN] for c in docker_client.containers.list(
                all=True, filters={"label": f"{labels.OWNER_PID}={pid}"})}:
            reaper.remove_run(docker_client, run_id)
    assert not created_by(docker_client, pid)


def test_ctrl_c_during_a_run_removes_the_lab(docker_client, tmp_path):
    # an xdist worker ignores SIGINT and a child inherits an ignored signal across exec; a handled one is
    # reset to the default, so the child gets a real Ctrl-C
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--proxy-mode=random",
                                  f"--report-dir={tmp_path}", "pytest_lbconform/suites/test_arp_ownership.py"],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not created_by(docker_client, child.pid):
        time.sleep(0.2)  # polling for the lab to appear (a condition with a deadline)
    assert created_by(docker_client, child.pid), "the lab never came up"
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=120)
    assert child.returncode != 0
    assert not created_by(docker_client, child.pid), out[-2000:]


def _start_run(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # see the Ctrl-C test
    try:
        return subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--proxy-mode=random",
                                 f"--report-dir={tmp_path}", "pytest_lbconform/suites/test_arp_ownership.py"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_lab(docker_client, child) -> int:
    deadline = time.monotonic() + 120
    found: list[str] = []
    while time.monotonic() < deadline:
        found = created_by(docker_client, child.pid)
        if len(found) >= 7:  # network + 4 nodes + 2 clients
            return len(found)
        time.sleep(0.2)  # polling for the lab to appear (a condition with a deadline)
    raise AssertionError(f"the lab never came up (seen: {found})")


def test_sighup_during_a_run_removes_the_lab(docker_client, tmp_path):
    """A closed terminal (SIGHUP) used to leave 6 containers and a network."""
    child = _start_run(tmp_path)
    _wait_for_lab(docker_client, child)
    child.send_signal(signal.SIGHUP)
    out, _ = child.communicate(timeout=120)
    assert child.returncode != 0
    assert not created_by(docker_client, child.pid), out[-2000:]


def test_a_second_signal_during_teardown_does_not_stop_the_cleanup(docker_client, tmp_path):
    child = _start_run(tmp_path)
    full = _wait_for_lab(docker_client, child)
    child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(created_by(docker_client, child.pid)) >= full:
        time.sleep(0.05)  # until the teardown has started removing objects
    child.send_signal(signal.SIGINT)  # the second signal lands while the teardown removes the rest
    out, _ = child.communicate(timeout=120)
    assert not created_by(docker_client, child.pid), out[-2000:]
    # whether the second signal landed inside the teardown depends on timing here; the holding itself is
    # proven deterministically in tests/test_plugin_signals.py


def test_sigterm_under_xdist_removes_every_workers_lab(docker_client, tmp_path):
    """xdist kills a worker still busy 10 s after the controller was told to stop; the controller then removes
    what the worker could not (everything a worker makes carries the controller's token). Here one worker is
    killed outright, so its teardown never runs; the other one tears down as usual."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                                  "--proxy-mode=random,rr", f"--report-dir={tmp_path}",
                                  "pytest_lbconform/suites/test_failover.py"],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    session = f"{ownership.SESSION}={ownership.owner_of(child.pid).token}"
    deadline = time.monotonic() + 300
    runs: dict[str, int] = {}
    while time.monotonic() < deadline and not (len(runs) == 2 and min(runs.values()) >= 7):
        runs = {}
        for c in docker_client.containers.list(all=True, filters={"label": session}, ignore_removed=True):
            runs[c.labels[labels.RUN]] = runs.get(c.labels[labels.RUN], 1) + 1  # + its network
        time.sleep(0.5)  # polling for both workers' labs (a condition with a deadline)
    assert len(runs) == 2, f"two worker labs never came up: {runs}"
    subnets = [n.attrs["IPAM"]["Config"][0]["Subnet"] for n in docker_client.networks.list(filters={"label": session})]
    assert len(set(subnets)) == 2, f"the workers' labs share a subnet (and so VIPs): {subnets}"
    # what xdist does to a worker still busy 10 s after the stop (e.g. blocked in a 12 s probe): kill it outright
    victim = docker_client.containers.list(filters={"label": [session, f"{labels.RUN}={min(runs)}"]})[0]
    os.kill(int(victim.labels[labels.OWNER_PID]), signal.SIGKILL)
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=240)
    left = labelled_objects(docker_client, session)
    assert not left, f"left behind: {left}\n{out[-3000:]}"
