"""The Lease-election model (``tests/lease_model.py``) against client-go's rules, and the failover windows the suite
derives from a spec's tunings (``providers/lease_timing.py``) against the model. No Docker."""

from __future__ import annotations

import pytest

from pytest_lbconform.providers.lease_timing import LeaseTimings, NodeLeaseTimings
from tests.lease_model import NO_AGENT_LABEL, Cluster, Flavor, Timings, cilium, kube_vip

SEEDS = range(12)
KUBE_VIP = LeaseTimings(5, 3, 1)         #: the kube-vip spec's tuning (kube-vip's own e2e template)
CILIUM = LeaseTimings(3, 1, 0.2)         #: the Cilium spec's tuning (l2-announcements.rst example)
FLAVORS = {"kube-vip": lambda: kube_vip(KUBE_VIP, arp_rate_ms=500), "cilium": lambda: cilium(CILIUM)}
SVC1 = "172.18.255.200"


def _short(node: str) -> str:
    return node.split("-", 1)[1]


def _flavors():
    return pytest.mark.parametrize("make", list(FLAVORS.values()), ids=list(FLAVORS))


# -- the windows themselves --------------------------------------------------------------------------------------
def test_client_go_refuses_what_lease_timing_calls_unsound():
    assert LeaseTimings(15, 10, 2).problems() == []           # kube-vip's defaults
    assert LeaseTimings(15, 5, 2).problems() == []            # Cilium's defaults
    assert any("renew deadline" in p for p in LeaseTimings(3, 3, 1).problems())
    assert any("1.2 × retry" in p for p in LeaseTimings(5, 1.2, 1).problems())
    assert any("overlaps" in p for p in LeaseTimings(3, 2, 1).problems())   # kube-vip's floor: 1 + 2 = 3 ≥ 3
    assert any("under 1 s" in p for p in LeaseTimings(0.9, 0.5, 0.1).problems())


def test_the_windows_of_the_defaults_are_the_documented_ones():
    assert LeaseTimings(15, 10, 2).crash_takeover() == (13, pytest.approx(23.8))
    assert LeaseTimings(15, 5, 2).crash_takeover() == (13, pytest.approx(23.8))
    assert CILIUM.crash_takeover() == (pytest.approx(2.8), pytest.approx(3.88))  # docs: 2–4 s with 3s/1s/200ms
    assert LeaseTimings(2.9, 1, 0.2).lease_seconds == 2                           # the Lease keeps whole seconds
    assert KUBE_VIP.graceful_takeover() == (0.0, pytest.approx(2.2))


def test_purelb_node_leases_cannot_rule_out_a_split_brain():
    timings = NodeLeaseTimings(4)
    assert timings.crash_takeover() == (2, 6)
    assert timings.holder_gives_up() == 6 and not timings.split_brain_free
    assert NodeLeaseTimings(1).problems()


# -- the model follows client-go -----------------------------------------------------------------------------------
@_flavors()
def test_a_settled_cluster_has_one_holder_and_one_arp_responder_per_service(make):
    c = Cluster(make())
    for svc in c.services:
        holder = c.holder(svc.name)
        assert c.holders(svc.name) == [holder] and c.arp_responders(svc.vip) == [holder]
        assert c.nodes[holder].role == "worker"


@_flavors()
def test_no_takeover_while_the_holder_renews(make):
    c = Cluster(make())
    before = {s.name: c.holder(s.name) for s in c.services}
    transitions = {k: r.transitions for k, r in c.leases.items()}
    c.advance(60)
    assert {s.name: c.holder(s.name) for s in c.services} == before
    assert {s.name: c.arp_responders(s.vip) for s in c.services} == {k: [v] for k, v in before.items()}
    assert {k: r.transitions for k, r in c.leases.items()} == transitions


@_flavors()
@pytest.mark.parametrize("seed", SEEDS)
def test_a_dead_holder_is_replaced_within_the_crash_window(make, seed):
    c = Cluster(make(), seed=seed)
    old = c.holder("svc1")
    c.kill(_short(old))
    took = c.run_until(lambda c: c.holder("svc1") not in ("", old), 60)
    low, high = c.flavor.timings.crash_takeover()
    assert low < took <= high + c.timings.step, (took, low, high)
    assert c.arp_responders(SVC1) == [c.holder("svc1")]


@_flavors()
@pytest.mark.parametrize("seed", SEEDS)
def test_a_graceful_stop_releases_the_lease_and_hands_over_within_a_retry(make, seed):
    c = Cluster(make(), seed=seed)
    old = c.holder("svc1")
    pod = next(p.name for p in c.pods.values() if p.node == old)
    c.patch_taints(old, [{"key": "lbconform.io/agent", "effect": "NoSchedule"}])
    if c.flavor.tolerates_all_taints:   # Cilium tolerates every taint: the spec keeps it away by node affinity
        c.patch_affinity([{"key": NO_AGENT_LABEL, "operator": "DoesNotExist"}])
        c.label(old, NO_AGENT_LABEL, "true")
    else:
        c.delete_pod(pod)
    deleted = c.t
    released = c.run_until(lambda c: c.holder("svc1") != old, 10)
    took = c.run_until(lambda c: c.holder("svc1") != "", 10) + released
    assert took <= c.timings.shutdown + c.timings.step + c.flavor.timings.graceful_takeover()[1] + c.timings.step
    assert c.arp_responders(SVC1) == [c.holder("svc1")]
    assert any("released" in text for t, text in c.log if t >= deleted)
    c.advance(10)
    assert not any(p.node == old for p in c.pods.values()), "the agent came back despite the fault's mechanism"


def test_without_the_affinity_patch_a_tainted_cilium_agent_comes_straight_back():
    """research §0.7: the agent DaemonSet tolerates every taint, so taint + delete does not keep it away."""
    c = Cluster(cilium(CILIUM))
    old = c.holder("svc1")
    c.patch_taints(old, [{"key": "lbconform.io/agent", "effect": "NoSchedule"}])
    c.delete_pod(next(p.name for p in c.pods.values() if p.node == old))
    c.advance(5)
    assert any(p.node == old and p.deleted is None for p in c.pods.values())


@_flavors()
@pytest.mark.parametrize("seed", SEEDS)
def test_an_isolated_holder_gives_up_before_anyone_takes_over(make, seed):
    c = Cluster(make(), seed=seed)
    old = c.holder("svc1")
    c.set_link(_short(old), up=False)
    gave_up = c.run_until(lambda c: old not in c.holders("svc1"), 30)
    assert c.holder("svc1") == old, "a candidate took over while the isolated holder still led"
    assert gave_up <= c.flavor.timings.holder_gives_up() + c.timings.step
    c.run_until(lambda c: c.holder("svc1") not in ("", old), 30)
    c.set_link(_short(old), up=True)
    new = c.holder("svc1")
    c.advance(20)
    assert c.holder("svc1") == new and c.arp_responders(SVC1) == [new], "no failback: the lease stays"


def test_overlapping_timings_let_an_isolated_holder_and_its_successor_both_lead():
    """The reason the specs keep R + RD < int(L): client-go allows 3/2.9/1, where they overlap."""
    timings = LeaseTimings(3, 2.9, 1)
    assert not timings.split_brain_free
    overlapped = False
    for seed in SEEDS:
        c = Cluster(kube_vip(timings), seed=seed)
        old = c.holder("svc1")
        c.set_link(_short(old), up=False)
        for _ in range(200):
            c.advance(c.timings.step)
            overlapped |= len(c.holders("svc1")) == 2
    assert overlapped


@_flavors()
def test_a_frozen_holder_keeps_answering_arp_after_the_takeover(make):
    """research §0.2 (inference): the VIP is kernel state — an address (kube-vip) or a responder-map entry
    (Cilium) — so a paused node still answers; the spec does not declare failover:node-freeze."""
    c = Cluster(make())
    old = c.holder("svc1")
    c.freeze(_short(old))
    c.run_until(lambda c: c.holder("svc1") not in ("", old), 30)
    assert len(c.arp_responders(SVC1)) == 2
    c.freeze(_short(old), frozen=False)
    c.run_until(lambda c: c.arp_responders(SVC1) == [c.holder("svc1")], 10)


def test_a_quickly_restarted_agent_takes_its_own_lease_back():
    """client-go: the holder identity is the node name, so a restarted agent is the holder (IsLeader) and renews."""
    c = Cluster(kube_vip(KUBE_VIP, arp_rate_ms=500))
    old = c.holder("svc1")
    c.crash_agent(_short(old))
    c.advance(c.timings.crash_backoff + 3)
    assert c.holder("svc1") == old and c.arp_responders(SVC1) == [old]


def test_a_sigkilled_kube_vip_leaves_its_vip_behind_and_cilium_reconciles_it_away():
    """Agent-crash: kube-vip's address stays on eth0 (nothing removes it; kube-vip #1775, #1418); a restarted Cilium
    agent reconciles its responder map (research §2.4, inference)."""
    results = {}
    for name, make in FLAVORS.items():
        flavor = make()
        down = flavor.timings.crash_takeover()[1] + 1  # the container stays down past the lease (a crash loop)
        c = Cluster(flavor, timings=Timings(crash_backoff=down))
        old = c.holder("svc1")
        c.crash_agent(_short(old))
        c.advance(down + 5)  # the agent is back, and has reconciled what it can
        assert c.holder("svc1") != old and next(p for p in c.pods.values() if p.node == old).restarts == 1
        results[name] = c.arp_responders(SVC1)
    assert len(results["kube-vip"]) == 2
    assert len(results["cilium"]) == 1


def test_kube_vip_sends_its_first_garp_within_one_arp_rate_and_cilium_once_at_takeover():
    for make, first_within, periodic in ((lambda: kube_vip(KUBE_VIP, arp_rate_ms=500), 0.5, True),
                                         (lambda: cilium(CILIUM), 0.0, False)):
        c = Cluster(make())
        old = c.holder("svc1")
        c.kill(_short(old))
        c.run_until(lambda c, old=old: c.holder("svc1") not in ("", old), 30)
        took_over = c.t
        c.advance(3)
        garps = c.garps_after(SVC1, took_over)
        assert garps and garps[0].t - took_over <= first_within + c.timings.step
        assert garps[0].node == c.holder("svc1")
        assert (len(garps) > 1) is periodic


def test_kube_vip_without_per_service_election_puts_every_vip_on_one_node():
    c = Cluster(kube_vip(KUBE_VIP, services_election=False))
    assert {c.holder(s.name) for s in c.services} == {c.holder("svc1")}
    assert set(c.leases) == {("kube-system", "plndr-svcs-lock")}


def test_lease_names_and_namespaces_are_the_upstream_ones():
    kv, ci = Cluster(kube_vip(KUBE_VIP), namespace="lbc-run"), Cluster(cilium(CILIUM), namespace="lbc-run")
    assert set(kv.leases) == {("lbc-run", f"kubevip-svc{i}") for i in (1, 2, 3)}
    assert set(ci.leases) == {("kube-system", f"cilium-l2announce-lbc-run-svc{i}") for i in (1, 2, 3)}
    lease = kv.lease_json("lbc-run", "kubevip-svc1")
    assert lease is not None and lease["spec"]["holderIdentity"] == kv.holder("svc1")
    assert lease["spec"]["leaseDurationSeconds"] == 5
    svc = next(s for s in kv.services_json()["items"] if s["metadata"]["name"] == "svc1")
    assert svc["metadata"]["annotations"]["kube-vip.io/vipHost"] == kv.holder("svc1")


@pytest.mark.parametrize("flavor", [kube_vip(), cilium()], ids=["kube-vip", "cilium"])
def test_the_upstream_defaults_fail_over_in_13_to_24_s(flavor: Flavor):
    c = Cluster(flavor, seed=3)
    old = c.holder("svc1")
    c.kill(_short(old))
    took = c.run_until(lambda c: c.holder("svc1") not in ("", old), 60)
    assert 13 < took <= 23.8 + c.timings.step
