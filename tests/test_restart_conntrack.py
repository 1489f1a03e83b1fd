"""A restarted node keeps no connection it tracked before its DNAT rules were loaded.

The case (a clean-clone CI run, machine busy, mutant no-failover): nobody took svc1 over, so mypc kept
sending SYNs to the stopped owner's MAC; the restarted node tracked them before its rules were loaded
(no DNAT), and a later connection reusing such a source port met the node's own closed port 80: 28 of
120 connections refused in the SNAT check. Measured idle on one lab with this test's steps: 106 entries
without DNAT for the VIP when they are not deleted, 0 when they are.
"""

from __future__ import annotations

import time

import pytest

from pytest_lbconform.config import from_options
from pytest_lbconform.environment import LabEnvironment
from pytest_lbconform.faults import fault
from pytest_lbconform.platforms import containers

pytestmark = pytest.mark.xdist_group("restart-conntrack-lab")


@pytest.fixture(scope="module")
def no_takeover_lb(docker_client, tmp_path_factory):
    env = LabEnvironment(from_options(tmp_path_factory.mktemp("r"), lab_mutant="no-failover", address_families="4"),
                         docker_client,
                         progress=lambda m: None)
    try:
        env.setup()
        yield env.for_mode("random")
    finally:
        env.teardown()


def untranslated(lb, node, vip: str) -> list[str]:
    """Tracked connections to ``vip`` whose reply comes from the VIP itself: not DNATed."""
    out = containers.run(lb.infra.container(node), ["conntrack", "-L", "--orig-dst", vip], check=False).stdout
    found = []
    for line in out.splitlines():
        sources = [w for w in line.split() if w.startswith("src=")]
        if len(sources) == 2 and sources[1] == f"src={vip}":
            found.append(line)
    return found


def test_a_restarted_owner_forgets_what_it_tracked_before_its_rules(no_takeover_lb):
    lb = no_takeover_lb
    svc = lb.service("svc1")
    owner = lb.node(lb.reported_owner(svc))
    probe = lb.probe("mypc")
    with probe.availability(svc.vip, interval=0.01, timeout=0.2, duration=30) as rec:
        with fault("node-stop", owner, lb.infra, lb.provider) as injected:
            rec.hold_until(injected.at + 1.0)  # clients keep sending to the stopped owner's MAC
        lb.provider.wait_converged()
        rec.end_at(time.time() + 0.3)
        trace = rec.wait()
    assert any(not s.ok for s in trace.samples)  # the fault was real: no takeover, probes failed
    assert untranslated(lb, owner, svc.vip) == []
    burst = probe.http_burst(svc.vip, n=120, concurrency=8)
    assert [s.error for s in burst.samples if not s.ok] == []
