"""Each probe working on the reference LB in the lab (issue: measurement core)."""

import pytest

from pytest_lbconform.config import from_options
from pytest_lbconform.environment import LabEnvironment
from pytest_lbconform.faults import fault
from pytest_lbconform.verdicts.failover import attribute, build_timeline

#: one lab per module: under `pytest -n 2 --dist loadgroup` its tests stay on one worker
pytestmark = pytest.mark.xdist_group("probes-lab")



@pytest.fixture(scope="module")
def lab_lb(docker_client, tmp_path_factory):
    cfg = from_options(tmp_path_factory.mktemp("r"))
    env = LabEnvironment(cfg, docker_client, progress=lambda m: None)
    try:
        env.setup()
        yield env.for_mode("random")
    finally:
        env.teardown()


def test_arp_responders_collects_the_owner(lab_lb):
    svc = lab_lb.service("svc1")
    obs = lab_lb.probe("mypc").arp_responders(svc.vip, window=0.5, count=2)
    assert obs.macs == (lab_lb.node(lab_lb.reported_owner(svc)).mac,)
    assert obs.pcap.startswith(b"\xd4\xc3\xb2\xa1")  # little-endian pcap magic


def test_neighbour_reads_the_entry_without_traffic(lab_lb):
    svc = lab_lb.service("svc1")
    lab_lb.probe("mypc").http_burst(svc.vip, n=1, concurrency=1)
    entry = lab_lb.probe("mypc").neighbour(svc.vip)
    assert entry.mac == lab_lb.node(lab_lb.reported_owner(svc)).mac and entry.state


def test_http_burst_uses_a_fresh_connection_per_sample(lab_lb):
    burst = lab_lb.probe("mypc2").http_burst(lab_lb.service("svc1").vip, n=200, concurrency=4)
    assert not burst.errors and len(burst.samples) == 200
    assert len({s.sport for s in burst.samples}) == 200
    assert set(burst.counts) == {"webpod1", "webpod2", "webpod3"}


def test_availability_and_garp_see_a_takeover(lab_lb):
    svc = lab_lb.service("svc1")
    owner = lab_lb.node(lab_lb.reported_owner(svc))
    probe = lab_lb.probe("mypc")
    # leaving the fault restarts keepalived on the old owner, which takes the VIP back (preemption)
    with (probe.availability(svc.vip, interval=0.01, timeout=0.2, duration=3.0) as rec,
          fault("agent-kill", owner, lab_lb.infra, lab_lb.provider) as injected):
        new_owner = lab_lb.provider.wait_owner(svc, not_on=owner.short, budget=5)
        rec.mark("fault", injected.at)
    trace = rec.trace
    assert trace is not None and len(trace.samples) > 250
    assert new_owner != owner.short
    macs = {n.short: n.mac for n in lab_lb.topology.nodes}
    probes = attribute(trace.samples, "Cluster", lab_lb.address_owners, {})
    timeline = build_timeline(trace, probes, fault_kind="agent-kill", fault=injected.at, undo=None, victim=owner.short,
                              new_owner=new_owner, final_owner=None, node_macs=macs, old_dataplane_serves=True)
    assert timeline.garp_from_new_owner is not None, trace.garps
    assert timeline.first_via_new is not None and timeline.outage_ms is not None and timeline.outage_ms < 1500
    lab_lb.provider.wait_converged()


def test_garp_capture_sees_the_new_owner_announce(lab_lb):
    import threading

    svc = lab_lb.service("svc2")
    owner = lab_lb.node(lab_lb.reported_owner(svc))
    result = {}
    listener = threading.Thread(target=lambda: result.update(
        frames=lab_lb.probe("mypc2").garp_capture(svc.vip, window=8.0)))
    listener.start()
    try:
        # the capture runs in the client's agent session (scapy already loaded); the fault stays applied for
        # the whole window: keepalived's second GARP round (5 s after the takeover) lands inside it even if
        # the sniffer opened after the first round
        with fault("agent-kill", owner, lab_lb.infra, lab_lb.provider):
            new_owner = lab_lb.provider.wait_owner(svc, not_on=owner.short, budget=5)
            listener.join(30)
    finally:
        listener.join(30)
    frames, pcap = result["frames"]
    assert lab_lb.node(new_owner).mac in {f.mac for f in frames}
    assert all(f.op in (1, 2) for f in frames) and pcap
    lab_lb.provider.wait_converged()
