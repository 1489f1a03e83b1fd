"""Every daemon the lab starts is confirmed up, never assumed (issue: stale pid files after node-stop).

The motivating case: ``/run`` survived ``docker kill`` + start, so keepalived's pid file could name an
unrelated live process after the restart, and keepalived exited believing it already ran; the VIP
then never returned and the run reported a 15 s convergence timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pytest_lbconform.config import from_options
from pytest_lbconform.environment import LabEnvironment
from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.faults import fault
from pytest_lbconform.platforms import containers, launch
from pytest_lbconform.providers.keepalived import PID_FILES
from pytest_lbconform.waiting import wait_for
from tests.conftest import run_suite

#: one lab per module: under `pytest -n 2 --dist loadgroup` its tests stay on one worker
pytestmark = pytest.mark.xdist_group("agent-starts-lab")


NODE_STOP_CYCLES = 10


def launch_state(*args: str) -> dict:
    out = subprocess.run([sys.executable, launch.__file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_launcher_detaches_logs_and_says_the_daemon_is_up(tmp_path):
    log = tmp_path / "sub" / "d.log"
    state = launch_state("--log", str(log), "--", sys.executable, "-c",
                         "import time; print('hello from the daemon', flush=True); time.sleep(5)")
    assert state["pid"] > 0 and state["alive"] and state["missing"] is None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "hello" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)  # polling a condition with a deadline
    assert log.read_text() == "hello from the daemon\n"
    os.kill(state["pid"], signal.SIGTERM)


def test_launcher_logs_a_command_that_cannot_run_and_says_it_exited(tmp_path):
    log = tmp_path / "d.log"
    state = launch_state("--log", str(log), "--budget", "5", "--", "/nonexistent/daemon")
    assert (state["alive"], state["missing"]) == (False, "the process exited")
    assert "cannot run /nonexistent/daemon" in log.read_text()


def test_launcher_waits_for_http_200_inside_the_budget(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = launch_state("--log", str(tmp_path / "h.log"), "--budget", "20", "--ready", f"http=http://127.0.0.1:{port}/",
                         "--", sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                         "--directory", str(tmp_path))
    try:
        assert state["alive"] and state["missing"] is None
    finally:
        os.kill(state["pid"], signal.SIGTERM)


def test_launcher_names_what_is_missing_when_the_budget_runs_out(tmp_path):
    state = launch_state("--log", str(tmp_path / "s.log"), "--budget", "0.3", "--ready", "raw-socket=253",
                         "--ready", "child=nosuch", "--", "sleep", "5")
    try:
        assert state["alive"] and state["missing"] == "no raw socket of IP protocol 253 open"
    finally:
        os.kill(state["pid"], signal.SIGTERM)


@pytest.fixture(scope="module")
def lab_lb(docker_client, tmp_path_factory):
    env = LabEnvironment(from_options(tmp_path_factory.mktemp("r"), address_families="4"), docker_client,  # IPv4: the
                         progress=lambda m: None)  # subject is the agent's starts, not a family
    try:
        env.setup()
        yield env.for_mode("random")
    finally:
        env.teardown()


def test_run_is_a_tmpfs_in_lab_nodes(lab_lb):
    node = lab_lb.topology.workers[0]
    mounts = containers.run(lab_lb.infra.container(node), ["cat", "/proc/mounts"]).stdout
    assert any(line.split()[1:3] == ["/run", "tmpfs"] for line in mounts.splitlines()), mounts


def test_a_stale_pid_file_naming_a_live_process_cannot_stop_keepalived(lab_lb):
    """The motivating case, made deterministic: the pid file names a live, unrelated process."""
    svc = lab_lb.service("svc1")
    owner = lab_lb.node(lab_lb.reported_owner(svc))
    c = lab_lb.infra.container(owner)
    lab_lb.provider.kill_agent(owner)
    decoy = containers.run(c, ["python3", containers.LAUNCHER_PATH, "--log", "/run/decoy.log", "--", "sleep", "300"])
    decoy_pid = decoy.stdout.strip()
    try:
        for pid_file in PID_FILES[1::2]:
            containers.put_file(c, pid_file, f"{decoy_pid}\n")
        lab_lb.provider.start_agent(owner)  # confirmed: running and holding its VRRP socket
        assert containers.run(c, ["pgrep", "-x", "keepalived"], check=False).exit_code == 0
        assert lab_lb.provider.wait_converged()[svc.name] == owner.short
    finally:
        containers.run(c, ["kill", decoy_pid], check=False)


def test_a_daemon_that_does_not_start_is_one_clear_error(lab_lb):
    node = lab_lb.topology.workers[1]
    c = lab_lb.infra.container(node)
    with pytest.raises(InfrastructureError) as info:
        containers.start_daemon(c, "keepalived-broken", ["keepalived", "-n", "-l", "-f", "/nonexistent.conf",
                                                         "-p", "/run/x.pid", "-r", "/run/y.pid"], budget=5)
    message = str(info.value)
    assert message.startswith(f"keepalived-broken did not start in {node.name}: the process exited")
    assert "last log lines (/run/lbconform/keepalived-broken.log):" in message
    assert "nonexistent.conf" in message, message  # keepalived's own words, from its log


def test_a_daemon_that_runs_but_never_gets_ready_names_what_is_missing(lab_lb):
    c = lab_lb.infra.container(lab_lb.topology.workers[1])
    with pytest.raises(InfrastructureError) as info:
        containers.start_daemon(c, "sleeper", ["sleep", "30"], ready=["raw-socket=253"], budget=1)
    assert "sleeper did not start" in str(info.value)
    assert "no raw socket of IP protocol 253 open (within 1 s)" in str(info.value)


def test_node_stop_and_its_undo_converge_every_time(lab_lb):
    """10 cycles on one lab, rotating over the owners of the three services: every one converges."""
    converged = []
    for cycle in range(NODE_STOP_CYCLES):
        svc = lab_lb.services[cycle % len(lab_lb.services)]
        owner = lab_lb.node(lab_lb.reported_owner(svc))
        with fault("node-stop", owner, lab_lb.infra, lab_lb.provider):
            lab_lb.provider.wait_owner(svc, not_on=owner.short)
        owners = lab_lb.provider.wait_converged()  # raises (naming the state) when a cycle does not converge
        converged.append((cycle, owner.short, owners[svc.name]))
    assert len(converged) == NODE_STOP_CYCLES and all(o == back for _, o, back in converged), converged


def test_node_stop_selected_alone_passes(docker_client, tmp_path):
    """``-k node-stop`` runs the fault first thing on a fresh lab (keepalived then has low pids)."""
    result, _pid = run_suite("--proxy-mode=random", f"--report-dir={tmp_path}", "pytest_lbconform/suites/test_failover.py",
                             "-k", "node-stop")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout, result.stdout[-1500:]  # svc1 (Cluster) and svc2 (Local)
    # each failover check has its timeline plot: in its allure result, in reports/evidence/<test>/, on the page
    pngs = list((tmp_path / "allure-results").glob("*-attachment.png"))
    assert len(pngs) == 2 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert len(list((tmp_path / "allure-results").glob("*-attachment.csv"))) == 2
    assert len(list((tmp_path / "evidence").glob("test_failover*/*.png"))) == 2
    page = (tmp_path / "conformance.html").read_text()
    assert page.count("<img class='plot' src='evidence/test_failover") == 2


def _answers(lab_lb, source, target_ip: str) -> bool:
    """Whether ``target_ip``'s whoami answers a connection from ``source`` (within 1 s)."""
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1",
            f"http://{target_ip}:{lab_lb.provider.port}/"]
    return containers.run(lab_lb.infra.container(source), argv, check=False).stdout.strip() == "200"


def test_peer_partition_cuts_peers_not_clients_and_the_reference_splits(lab_lb):
    """peer-partition on the reference: VRRP adverts no longer cross, so the owner keeps its VIP while a
    peer takes it too — two holders, two MACs answering ARP (split brain; why the reference does not
    declare ``failover:peer-partition``). Clients still reach the victim; the undo converges again."""
    svc = lab_lb.service("svc1")
    owner = lab_lb.node(lab_lb.reported_owner(svc))
    peer = next(n for n in lab_lb.topology.workers if n.short != owner.short)
    client = lab_lb.topology.clients[0]
    assert _answers(lab_lb, owner, peer.ip) and _answers(lab_lb, client, owner.ip)
    with fault("peer-partition", owner, lab_lb.infra, lab_lb.provider):
        cut = (_answers(lab_lb, owner, peer.ip), _answers(lab_lb, peer, owner.ip),
               _answers(lab_lb, owner, lab_lb.topology.node("control-plane").ip))
        client_reaches = (_answers(lab_lb, client, owner.ip), _answers(lab_lb, client, peer.ip))
        holders = wait_for(lambda: lab_lb.provider.holders(svc), lambda h: len(h) == 2, budget=10,
                           what=f"a second holder of {svc.vip} beside the partitioned {owner.short}")
        answers = lab_lb.probe("mypc").arp_responders(svc.vip, window=0.5, count=2)
    assert cut == (False, False, False), cut
    assert client_reaches == (True, True), client_reaches
    assert owner.short in holders
    macs = {n.short: n.mac for n in lab_lb.topology.nodes}
    assert set(answers.macs) == {macs[h] for h in holders}, (answers.macs, holders)
    assert lab_lb.provider.wait_converged()[svc.name] == owner.short  # the undo: one owner again
    assert _answers(lab_lb, owner, peer.ip)
