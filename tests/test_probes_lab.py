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


@pytest.mark.parametrize("family", [4, 6])
def test_availability_and_garp_see_a_takeover(lab_lb, family):
    """IPv4: gratuitous ARP from the new owner; IPv6: its unsolicited NA (op 136), the probes over IPv6."""
    svc = lab_lb.service("svc1", family)
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
    assert all(s.remote and (":" in s.remote) == (family == 6) for s in trace.samples if s.ok)
    macs = {n.short: n.mac for n in lab_lb.topology.nodes}
    probes = attribute(trace.samples, "Cluster", lab_lb.address_owners, {})
    timeline = build_timeline(trace, probes, fault_kind="agent-kill", fault=injected.at, undo=None, victim=owner.short,
                              new_owner=new_owner, final_owner=None, node_macs=macs, old_dataplane_serves=True)
    assert timeline.garp_from_new_owner is not None, trace.garps
    assert all((g.op == 136) == (family == 6) for g in trace.garps)  # 136: ICMPv6 neighbour advertisement
    assert timeline.first_via_new is not None and timeline.outage_ms is not None and timeline.outage_ms < 1500
    # the neighbour entry as the kernel reported it (rtnetlink): on the old owner, then on the new one after its GARP/NA
    # (and back on the old one when it takes the VIP back within the recording)
    seen = [n.mac for n in trace.neighbour]
    assert seen[0] == owner.mac.lower() and macs[new_owner].lower() in seen, seen
    assert timeline.neighbour_to_new_owner is not None and timeline.neighbour_to_new_owner >= timeline.garp_from_new_owner
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


# -- IPv6 (the lab is dual-stack where the host has IPv6, as here) ------------------------------------------------
def test_ndp_responders_collect_the_owner(lab_lb):
    svc = lab_lb.service("svc1", 6)
    owner = lab_lb.node(lab_lb.reported_owner(svc))
    obs = lab_lb.probe("mypc").arp_responders(svc.vip, window=0.5, count=2)
    assert obs.macs == (owner.mac,) and all(r.ether_src == owner.mac for r in obs.replies) and obs.pcap


@pytest.mark.parametrize("family", [4, 6])
def test_a_second_responder_on_a_client_is_caught_in_both_families(lab_lb, family):
    """No mutant names it: mypc2 claims a VIP as its own address (IPv6 without duplicate address detection), so it
    answers ARP or NDP for it beside the owner."""
    from pytest_lbconform.platforms import containers
    from pytest_lbconform.verdicts.arp import arp_ownership
    from pytest_lbconform.verdicts.family import in_family

    svc = lab_lb.service("svc3", family)
    client = lab_lb.infra.container(lab_lb.topology.client("mypc2"))
    address = f"{svc.vip}/32" if family == 4 else f"{svc.vip}/128"
    containers.run(client, ["ip", "addr", "add", address, "dev", "eth0", *(["nodad"] if family == 6 else [])])
    try:
        obs = lab_lb.probe("mypc").arp_responders(svc.vip, window=0.5, count=2)
    finally:
        containers.run(client, ["ip", "addr", "del", address, "dev", "eth0"])
    macs = {n.short: n.mac for n in lab_lb.topology.nodes}
    verdict = in_family(arp_ownership(obs, macs, lab_lb.reported_owner(svc)), family)
    assert not verdict.passed and verdict.category == ("multiple ARP owners" if family == 4 else "multiple NDP owners")
    assert lab_lb.topology.client("mypc2").mac in verdict.measured


@pytest.mark.parametrize("family", [4, 6])
def test_a_dead_local_backend_is_caught_in_both_families(lab_lb, family):
    """No mutant names it: the whoami behind svc2 (Local) on its owner stops; every connection fails, and the Local
    checks count them."""
    from pytest_lbconform.platforms import containers
    from pytest_lbconform.providers.keepalived import BACKEND_START_BUDGET, WHOAMI_PATH
    from pytest_lbconform.verdicts.balancing import only_backends
    from pytest_lbconform.verdicts.snat import local_preserves_client

    svc = lab_lb.service("svc2", family)
    owner = lab_lb.reported_owner(svc)
    backend = next(b for b in lab_lb.backends if b.node == owner)
    node = lab_lb.infra.container(lab_lb.node(owner))
    containers.run(node, ["pkill", "-f", WHOAMI_PATH])
    try:
        burst = lab_lb.probe("mypc").http_burst(svc.vip, n=40, concurrency=4, timeout=0.5)
    finally:
        containers.start_daemon(node, "whoami", ["python3", WHOAMI_PATH, "--name", backend.name, "--port",
                                                 str(backend.port)], ready=[f"http=http://127.0.0.1:{backend.port}/"],
                                budget=BACKEND_START_BUDGET)
    client_ip = lab_lb.topology.client("mypc").address(family)
    snat = local_preserves_client(burst.samples, client_ip, lab_lb.node_addresses, {backend.name})
    local = only_backends(burst.samples, [backend.name])
    assert len(burst.errors) == 40
    assert (snat.passed, snat.category, local.passed, local.category) == (False, "connection failures", False,
                                                                          "connection failures")
