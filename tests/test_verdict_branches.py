"""Every branch of every verdict pinned: pass/fail, category, key figures, expected and measured text,
and the boundaries of every comparison (issue: code-level mutation testing of ``verdicts/``).

The empty-data edges come first: they are where a conformance suite most easily passes by accident.
"""

from __future__ import annotations

import pytest
from scipy import stats

from pytest_lbconform.platforms.base import Host
from pytest_lbconform.probes.records import ArpObservation, ArpReply, GarpFrame, Sample
from pytest_lbconform.verdicts import allocation as alloc
from pytest_lbconform.verdicts.arp import arp_ownership, garp_after, no_takeover
from pytest_lbconform.verdicts.balancing import only_backends, round_robin, sticky, uniform
from pytest_lbconform.verdicts.connections import answered_text, error_kind, failure_figures, judge_failures
from pytest_lbconform.verdicts.snat import classify, cluster_snat, local_preserves_client

VIP = "172.18.255.200"
W1, W2 = "02:42:ac:12:00:03", "02:42:ac:12:00:04"
NODES = {"worker": W1, "worker2": W2}
B = ["webpod1", "webpod2", "webpod3"]


def obs(*macs: str, requests: int = 3) -> ArpObservation:
    return ArpObservation(VIP, tuple(ArpReply(t=float(i), mac=m) for i, m in enumerate(macs)), requests=requests)


def ok(backend: str = "webpod1", remote: str | None = None) -> Sample:
    return Sample(t=0.0, ok=True, backend=backend, remote=remote)


def bad(error: str = "TimeoutError") -> Sample:
    return Sample(t=0.0, ok=False, error=error)


def seq(*backends: str) -> list[Sample]:
    return [ok(b) for b in backends]


# -- arp_ownership ---------------------------------------------------------------------------------
EXPECTED_ARP = (f"exactly 1 MAC answers ARP for {VIP}, the MAC of the reported owner worker, "
                "as Ethernet source and ARP sender")


def test_arp_nobody_answers():
    v = arp_ownership(obs(), NODES, "worker")
    assert (v.passed, v.category, v.expected) == (False, "no ARP owner", EXPECTED_ARP)
    assert v.measured == "no reply to 3 who-has requests"
    assert v.figures == {"vip": VIP, "requests": 3, "replies": 0, "macs": [], "answering_nodes": [],
                         "reported_owner": "worker"}


def test_arp_two_macs():
    v = arp_ownership(obs(W1, W2, W1), NODES, "worker")
    assert (v.passed, v.category) == (False, "multiple ARP owners")
    assert v.measured == f"2 MACs answer: {W1} (worker), {W2} (worker2)"
    assert v.figures["answering_nodes"] == ["worker", "worker2"] and v.figures["replies"] == 3


def test_arp_mac_of_no_node():
    v = arp_ownership(obs("de:ad:be:ef:00:01"), NODES, "worker")
    assert (v.passed, v.category) == (False, "ARP owner is not a node")
    assert v.measured == "de:ad:be:ef:00:01 answers, which is no node's MAC"
    assert v.figures["answering_nodes"] == ["unknown de:ad:be:ef:00:01"]


def test_arp_no_reported_owner():
    v = arp_ownership(obs(W1), NODES, None)
    assert (v.passed, v.category) == (False, "owner report mismatch")
    assert v.measured == f"{W1} (worker) answers, but the LB reports no owner"


def test_arp_other_node_than_reported():
    v = arp_ownership(obs(W2), NODES, "worker")
    assert (v.passed, v.category) == (False, "owner report mismatch")
    assert v.measured == f"{W2} (worker2) answers, but the LB reports worker"


def test_arp_pass_and_node_macs_compared_case_insensitively():
    v = arp_ownership(obs(W1, W1), {"worker": W1.upper(), "worker2": W2}, "worker")
    assert (v.passed, v.category) == (True, "")
    assert v.measured == f"1 MAC {W1} (worker) in 2 replies to 3 requests"
    assert v.figures["macs"] == [W1] and v.figures["answering_nodes"] == ["worker"]


def test_arp_reply_from_another_ethernet_source_fails_even_from_the_owner():
    replies = (ArpReply(0.0, W1, 0, W2), ArpReply(0.1, W1, 1, W1))
    v = arp_ownership(ArpObservation(VIP, replies, 2), NODES, "worker")
    assert (v.passed, v.category) == (False, "ARP source mismatch")
    assert v.measured == f"Ethernet source ≠ ARP sender: {W2} carries ARP sender {W1}"
    assert v.figures["ether_sources"] == [W1, W2]
    same = arp_ownership(ArpObservation(VIP, (ArpReply(0.0, W1, 0, W1.upper()),), 1), NODES, "worker")
    assert same.passed and same.figures["ether_sources"] == [W1.upper()]


# -- garp_after / no_takeover ------------------------------------------------------------------------
H1 = Host("c-worker", "worker", "10.0.0.3", W1, "worker")
H2 = Host("c-worker2", "worker", "10.0.0.4", W2, "worker2")


def test_garp_at_exactly_the_takeover_time_counts():
    v = garp_after([GarpFrame(10.0, 1, W2, W2)], [(H2, 10.0)], VIP)
    assert v.passed and v.figures["worker2_first_garp_ms"] == 0.0
    assert v.measured == "worker2: 1 frames, first 0.0 ms after it took over"
    assert v.expected == f"gratuitous ARP from worker2 ({W2}), each with its own MAC as ARP sender and Ethernet source"


def test_garp_missing_names_the_silent_announcer_and_what_was_seen():
    v = garp_after([GarpFrame(10.5, 1, W1, W1)], [(H2, 10.0)], VIP)
    assert (v.passed, v.category) == (False, "GARP missing")
    assert v.measured == f"no gratuitous ARP from worker2 (1 frames seen, ARP senders: {W1})"
    assert v.figures == {"vip": VIP, "frames": 1, "announcers": ["worker2"], "worker2_first_garp_ms": None,
                         "uncredited_frames": 0}


def test_garp_from_an_uppercase_announcer_mac_still_matches():
    upper = Host("c-worker2", "worker", "10.0.0.4", W2.upper(), "worker2")
    assert garp_after([GarpFrame(10.1, 1, W2, W2)], [(upper, 10.0)], VIP).passed


def test_garp_whose_ethernet_source_is_not_the_sender_is_not_credited():
    """Only frame from elsewhere claiming worker2's MAC: worker2 never announced (GARP missing), the frame is named."""
    v = garp_after([GarpFrame(10.1, 1, W2, ether_src=W1)], [(H2, 10.0)], VIP)
    assert (v.passed, v.category) == (False, "GARP missing")
    assert v.measured == (f"no gratuitous ARP from worker2 (1 frames seen, ARP senders: {W2}); not credited: "
                          f"1 frame with ARP sender {W2} (worker2) from Ethernet source {W1}")
    assert v.figures["uncredited_frames"] == 1
    assert garp_after([GarpFrame(10.1, 1, W2, ether_src=W2.upper())], [(H2, 10.0)], VIP).passed
    assert not garp_after([GarpFrame(10.1, 1, W2)], [(H2, 10.0)], VIP).passed  # Ethernet source not captured


def test_a_heard_announcer_beside_frames_claiming_its_mac_from_elsewhere_is_a_source_mismatch():
    frames = [GarpFrame(10.1, 1, W2, W2), GarpFrame(10.2, 1, W2, "02:00:00:00:be:ef")]
    v = garp_after(frames, [(H2, 10.0)], VIP)
    assert (v.passed, v.category) == (False, "ARP source mismatch")
    assert v.measured == ("worker2: 1 frames, first 100.0 ms after it took over; not credited: 1 frame with ARP "
                          f"sender {W2} (worker2) from Ethernet source 02:00:00:00:be:ef")


def test_frames_claiming_a_node_that_is_not_an_announcer_are_named_when_every_node_is_known():
    frames = [GarpFrame(10.1, 1, W2, W2), GarpFrame(10.2, 1, W1, W2)]
    assert garp_after(frames, [(H2, 10.0)], VIP).passed  # only the announcers' MACs known
    v = garp_after(frames, [(H2, 10.0)], VIP, node_macs={"worker": W1, "worker2": W2})
    assert v.category == "ARP source mismatch" and f"ARP sender {W1} (worker) from Ethernet source {W2}" in v.measured


def test_no_takeover_is_a_failure_with_its_figures():
    v = no_takeover("garp-on-announcement", VIP, "worker")
    assert (v.passed, v.category, v.check) == (False, "GARP missing", "garp-on-announcement")
    assert v.measured == f"no other node took {VIP} over" and v.figures == {"vip": VIP, "old_owner": "worker"}
    assert v.expected == f"another node announces {VIP} after worker stops"


# -- connections -------------------------------------------------------------------------------------
def test_error_kind():
    assert error_kind("ConnectionRefusedError: [Errno 111] refused") == "ConnectionRefusedError"
    assert error_kind("status 503") == "status 503"
    assert error_kind(None) == "unknown" and error_kind("") == "unknown" and error_kind(": x") == "unknown"


def test_failure_figures_and_bound_boundary():
    samples = [ok()] * 796 + [bad()] * 4
    figures = failure_figures("snat-cluster", samples)
    assert figures == {"connections": 800, "answered": 796, "failed": 4, "failed_by_kind": {"TimeoutError": 4},
                       "failures_allowed": 4, "error_bound_share": 0.005}
    assert judge_failures("snat-cluster", samples, "e")[1] is None  # exactly at the bound: passes
    _, verdict = judge_failures("snat-cluster", [ok()] * 795 + [bad()] * 5, "e")
    assert verdict is not None and verdict.category == "connection failures"
    assert verdict.measured == "5 of 800 connections failed (TimeoutError 5); at most 4 may (0.5% of 800)"


def test_no_connection_at_all_fails():
    figures, verdict = judge_failures("snat-local", [], "e")
    assert verdict is not None and verdict.measured == "no connection was attempted" and figures["connections"] == 0


def test_answered_text():
    assert answered_text({"answered": 5, "connections": 5, "failed": 0, "failures_allowed": 0}) == "5/5 answered"
    assert answered_text({"answered": 4, "connections": 5, "failed": 1, "failures_allowed": 2}) == \
        "4/5 answered (1 failed ≤ 2 allowed)"


# -- uniform -------------------------------------------------------------------------------------------
def counts(**c: int) -> list[Sample]:
    return [ok(b) for b, n in c.items() for _ in range(n)]


def test_uniform_all_connections_failed():
    v = uniform([bad()] * 10, B)
    assert (v.passed, v.category) == (False, "connection failures")
    assert v.figures["n"] == 0 and v.figures["shares"] == dict.fromkeys(B, 0)


def test_uniform_answers_without_a_backend_name():
    v = uniform([Sample(t=0, ok=True, backend=None)] * 9, B)
    assert (v.passed, v.category, v.measured) == (False, "balancing skew", "no answer named a backend")


def test_uniform_unknown_backend():
    v = uniform(counts(webpod1=10, webpod2=10, webpod3=10, intruder=1), B)
    assert (v.passed, v.category, v.measured) == (False, "balancing skew", "answers from unexpected backends intruder")


def test_uniform_unseen_backend_text():
    v = uniform(counts(webpod1=1, webpod2=1), B)
    assert (v.passed, v.category) == (False, "balancing skew")
    assert v.measured == "backend(s) webpod3 never answered (webpod1=1, webpod2=1, webpod3=0)"


def test_uniform_p_equal_to_alpha_passes_and_just_below_fails():
    samples = counts(webpod1=330, webpod2=300, webpod3=270)
    p = float(stats.chisquare([330, 300, 270]).pvalue)
    assert uniform(samples, B, alpha=p).passed  # p ≥ α passes (the boundary itself)
    v = uniform(samples, B, alpha=p * 1.000001)
    assert (v.passed, v.category) == (False, "balancing skew") and v.measured.startswith("webpod1=330, webpod2=300")


def test_uniform_pass_figures():
    v = uniform(counts(webpod1=300, webpod2=300, webpod3=300), B)
    assert v.passed and v.figures["chi2"] == 0.0 and v.figures["p_value"] == pytest.approx(1.0)
    assert v.figures["df"] == 2 and v.figures["shares"] == dict.fromkeys(B, 0.3333)
    assert v.measured == "webpod1=300, webpod2=300, webpod3=300: χ²=0.0, p=1; 900/900 answered"
    assert v.expected == "each of 3 backends ≈ 1/3 of 900 fresh connections (χ² p ≥ 1e-05)"


# -- round robin ---------------------------------------------------------------------------------------
def test_round_robin_exactly_two_cycles_is_enough_and_one_less_is_not():
    assert round_robin(seq(*B, *B), B).passed
    v = round_robin(seq(*B, "webpod1", "webpod2"), B)
    assert (v.passed, v.category, v.measured) == (False, "balancing skew", "only 5 samples (need ≥ 6)")


def test_round_robin_first_k_not_one_of_each():
    v = round_robin(seq("webpod1", "webpod1", "webpod2", *B, *B), B)
    assert not v.passed and v.measured.startswith("the first 3 answers (webpod1, webpod1, webpod2)")


def test_round_robin_slips_at_and_over_the_declared_number():
    one_slip = seq(*B, *B, "webpod2", "webpod3", *B)  # webpod1's turn taken once: 1 slip
    v = round_robin(one_slip, B, shifts_allowed=1)
    assert v.passed and v.figures["phase_slips"] == 1 and v.figures["count_spread"] == 1
    v0 = round_robin(one_slip, B)
    assert not v0.passed and v0.measured.startswith("1 phase slips")


def test_round_robin_spread_bound_is_shifts_plus_one():
    # two slips but a spread of 2: passes only when 2 slips and spread ≤ 3 are declared
    two = seq(*B, "webpod2", "webpod3", "webpod2", "webpod3", *B)
    assert not round_robin(two, B, shifts_allowed=1).passed
    assert round_robin(two, B, shifts_allowed=2).passed


def test_round_robin_pass_text_and_figures():
    v = round_robin(seq(*B * 4), B)
    assert v.passed and v.figures["n"] == 12 and v.figures["head"] == B * 2
    assert v.figures["p_random_scheduler_cycles"] == pytest.approx((1 / 3) ** 9)
    assert v.measured.startswith("cycle webpod1 → webpod2 → webpod3 held for 12 connections, 0 slips")
    assert v.expected == "a cycle of period 3 over webpod1, webpod2, webpod3 (≤ 0 phase slips, counts within 1)"


def test_round_robin_all_failed():
    v = round_robin([bad()] * 30, B)
    assert (v.passed, v.category) == (False, "connection failures") and v.figures["count_spread"] == 0


# -- sticky / only_backends ------------------------------------------------------------------------------
def test_sticky_no_client():
    v = sticky({})
    assert (v.passed, v.category, v.measured) == (False, "affinity broken", "no client was probed")


def test_sticky_loose_text():
    v = sticky({"mypc": seq("webpod1", "webpod2")})
    assert (v.passed, v.category) == (False, "affinity broken")
    assert v.measured == "clients reached several backends: mypc: (webpod1: 1, webpod2: 1)"


def test_sticky_pass_text():
    v = sticky({"mypc": seq("webpod2", "webpod2"), "mypc2": seq("webpod1")})
    assert v.passed and v.measured == "mypc→webpod2 (2×), mypc2→webpod1 (1×)"
    assert v.figures["failures_by_client"]["mypc"]["connections"] == 2


def test_only_backends_no_allowed_backend():
    v = only_backends(seq("webpod1"), [])
    assert (v.passed, v.category) == (False, "balancing skew")
    assert v.measured == "no backend is allowed (the announcing node has none)"


def test_only_backends_all_failed_and_text():
    assert only_backends([bad()] * 3, ["webpod1"]).category == "connection failures"
    v = only_backends(seq("webpod1", "webpod2"), ["webpod1"])
    assert v.measured == "answers from webpod2: 1"
    p = only_backends(seq("webpod1", "webpod1"), ["webpod1"])
    assert p.passed and p.measured == "all from webpod1; 2/2 answered"
    assert p.figures["counts"] == {"webpod1": 2} and p.figures["allowed"] == ["webpod1"]


# -- SNAT ---------------------------------------------------------------------------------------------------
CLIENT, NODE_IPS = "172.18.0.100", {"172.18.0.3", "172.18.0.4"}


def test_classify_empty_string_is_missing():
    assert classify("", CLIENT, NODE_IPS) == "missing"


def test_cluster_all_failed():
    v = cluster_snat([bad()] * 3, CLIENT, NODE_IPS)
    assert (v.passed, v.category) == (False, "connection failures")


def test_cluster_missing_remote_is_a_mismatch():
    v = cluster_snat([ok(remote=None)], CLIENT, NODE_IPS)
    assert (v.passed, v.category) == (False, "SNAT mismatch") and "(1 missing: not a node address)" in v.measured


def test_cluster_pass_text():
    v = cluster_snat([ok(remote="172.18.0.3")] * 2, CLIENT, NODE_IPS)
    assert v.passed and v.measured == "sources 172.18.0.3: 2; 2/2 answered"
    assert v.figures["seen"] == {"node": 2} and v.figures["node_addresses"] == sorted(NODE_IPS)


def test_local_branches():
    owner = {"webpod2"}
    assert local_preserves_client([bad()] * 2, CLIENT, NODE_IPS, owner).category == "connection failures"
    v = local_preserves_client([ok("webpod2", CLIENT)], CLIENT, NODE_IPS, set())
    assert (v.category, v.measured) == ("SNAT mismatch", "the announcing node has no local backend")
    v = local_preserves_client([ok("webpod2", "172.18.0.3")], CLIENT, NODE_IPS, owner)
    assert (v.category, v.measured) == ("SNAT mismatch", "client address lost (sources 172.18.0.3: 1)")
    v = local_preserves_client([ok("webpod1", CLIENT)], CLIENT, NODE_IPS, owner)
    assert (v.category, v.measured) == ("SNAT mismatch", "answers from other nodes' backends webpod1: 1")
    v = local_preserves_client([ok("webpod2", CLIENT)] * 3, CLIENT, NODE_IPS, owner)
    assert v.passed and v.measured == f"from webpod2: 3, source {CLIENT} kept; 3/3 answered"
    assert v.figures["owner_backends"] == ["webpod2"] and v.figures["backends"] == {"webpod2": 3}


# -- failover: tests/test_verdict_failover.py pins its branches and boundaries ------------------------------


# -- allocation --------------------------------------------------------------------------------------------------
A = alloc.Allocation


def test_from_pool_branches():
    v = alloc.from_pool([A("a", "10.0.0.10"), A("b", None), A("c", "10.0.0.99")], "10.0.0.10", "10.0.0.20")
    assert (v.passed, v.category) == (False, "allocation")
    assert v.measured == "pending b, outside the pool c=10.0.0.99"
    edges = alloc.from_pool([A("a", "10.0.0.10"), A("b", "10.0.0.20")], "10.0.0.10", "10.0.0.20")
    assert edges.passed and edges.measured == "a=10.0.0.10, b=10.0.0.20"  # both ends of the pool are in it
    assert not alloc.from_pool([A("a", "10.0.0.9")], "10.0.0.10", "10.0.0.20").passed
    assert not alloc.from_pool([A("a", "10.0.0.21")], "10.0.0.10", "10.0.0.20").passed


def test_distinct_branches():
    v = alloc.distinct([A("a", "10.0.0.1"), A("b", "10.0.0.1"), A("c", None)])
    assert (v.passed, v.measured) == (False, "shared 10.0.0.1, pending 1")
    assert not alloc.distinct([A("a", None)]).passed
    ok_ = alloc.distinct([A("a", "10.0.0.1"), A("b", "10.0.0.2")])
    assert ok_.passed and ok_.measured == "2 services, 2 addresses"


def test_honoured_pending_released_shared_branches():
    assert alloc.honoured(A("a", "10.0.0.5"), "10.0.0.5").measured == "got 10.0.0.5"
    v = alloc.honoured(A("a", None, "pool exhausted"), "10.0.0.5")
    assert (v.passed, v.measured) == (False, "got None (pool exhausted)")
    assert alloc.honoured(A("a", "10.0.0.6"), "10.0.0.5").measured == "got 10.0.0.6 (no reason given)"
    assert alloc.stays_pending(A("a", "10.0.0.5"), "x").measured == "got 10.0.0.5"
    assert alloc.stays_pending(A("a", None), "x").measured == "pending without any reason (no event)"
    p = alloc.stays_pending(A("a", None, "no IP available"), "pool exhausted")
    assert p.passed and p.measured == "pending: no IP available"
    assert p.expected == "a stays pending (pool exhausted) and the LB says why"
    assert not alloc.released(A("a", None), A("b", None)).passed
    assert not alloc.released(A("a", "10.0.0.5"), A("b", "10.0.0.6")).passed
    assert alloc.released(A("a", "10.0.0.5"), A("b", "10.0.0.5")).measured == "b got 10.0.0.5"
    assert not alloc.shared(A("a", None), A("b", None)).passed
    assert alloc.shared(A("a", "10.0.0.5"), A("b", "10.0.0.6")).measured == "10.0.0.5 vs 10.0.0.6 ()"
    assert alloc.shared(A("a", "10.0.0.5"), A("b", "10.0.0.5")).measured == "both on 10.0.0.5"


def test_failed_samples_never_count_as_answers_even_with_a_backend_name():
    samples = [*counts(webpod1=300, webpod2=300, webpod3=300), Sample(t=0, ok=False, backend="webpod1", error="status 503")]
    v = uniform(samples, B)
    assert v.figures["counts"] == {"webpod1": 300, "webpod2": 300, "webpod3": 300}


def test_failure_figures_of_a_check_without_a_bound():
    figures = failure_figures("arp-ownership", [bad()])
    assert figures["failures_allowed"] == 0 and figures["error_bound_share"] == 0.0


def test_round_robin_over_no_backend_fails_without_dividing_by_zero():
    v = round_robin(seq("webpod1", "webpod1"), [])
    assert not v.passed and v.figures["p_random_scheduler_cycles"] == 1.0


# Equivalent mutants, explained: `zip(..., strict=True)` → `strict=False/None` or no strict in `uniform`: both
# lists are built from `backends`, so they always have the same length.
def test_uniform_chi2_figure_and_round_robin_counts_are_pinned():
    v = uniform(counts(webpod1=330, webpod2=300, webpod3=270), B)
    assert v.figures["chi2"] == 6.0 and v.figures["df"] == 2
    skew = uniform(counts(webpod1=331, webpod2=300, webpod3=270), B)
    assert skew.figures["chi2"] == 6.195
    rr = round_robin(seq(*B * 3), B)
    assert rr.figures["counts"] == {"webpod1": 3, "webpod2": 3, "webpod3": 3}


def test_cluster_names_a_leaked_client_address_as_the_client():
    v = cluster_snat([ok(remote=CLIENT)], CLIENT, NODE_IPS)
    assert v.measured == f"sources {CLIENT}: 1 (1 client: not a node address)"
    assert v.figures["seen"] == {"client": 1}


def test_round_robin_counts_unseen_backends_as_zero_and_local_names_the_client():
    v = round_robin(seq("webpod1", "webpod2") * 5, B)
    assert v.figures["counts"] == {"webpod1": 5, "webpod2": 5, "webpod3": 0}
    local = local_preserves_client([ok("webpod2", CLIENT)], CLIENT, NODE_IPS, {"webpod2"})
    assert local.figures["seen"] == {"client": 1}


def test_sticky_has_numeric_figures_for_the_history():
    """history.csv takes numbers only: the affinity check names how many clients, answers and backends it saw."""
    v = sticky({"mypc": seq("webpod1", "webpod1"), "mypc2": seq("webpod2", "webpod2", "webpod2")})
    assert v.passed
    assert {k: v.figures[k] for k in ("clients", "answers", "max_backends_per_client", "backends_over_all_clients")} == {
        "clients": 2, "answers": 5, "max_backends_per_client": 1, "backends_over_all_clients": 2}
    assert "connections" not in v.figures  # per client in failures_by_client (bench_false_failures reads both)
