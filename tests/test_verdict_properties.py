"""Invariants every verdict keeps, whatever the data (property-based, Hypothesis).

- a perfect cycle passes round robin in any rotation and any length ≥ 2k;
- the uniformity verdict does not depend on the order of the samples;
- adding a failed sample never turns a failing verdict into a passing one;
- a timeline never reports recovery before the first success after the fault, nor an outage < 0.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_lbconform.probes.records import AvailabilityTrace, Sample
from pytest_lbconform.verdicts.balancing import only_backends, round_robin, sticky, uniform
from pytest_lbconform.verdicts.failover import attribute, build_timeline, within_budget
from pytest_lbconform.verdicts.snat import cluster_snat, local_preserves_client

BACKENDS = ["webpod1", "webpod2", "webpod3", "webpod4", "webpod5"]
CLIENT, NODES = "10.0.0.100", frozenset({"10.0.0.3", "10.0.0.4"})
FAST = settings(max_examples=60, deadline=None)

backend_names = st.sampled_from(BACKENDS[:3])
answers = st.builds(lambda b, r: Sample(t=0.0, ok=True, backend=b, remote=r), backend_names,
                    st.sampled_from([CLIENT, "10.0.0.3", "10.0.0.4", "10.9.9.9"]))
failures = st.builds(lambda e: Sample(t=0.0, ok=False, error=e),
                     st.sampled_from(["TimeoutError", "ConnectionRefusedError: x", "status 503"]))
samples = st.lists(st.one_of(answers, failures), max_size=60)


@FAST
@given(k=st.integers(2, 5), cycles=st.integers(2, 8), rotation=st.integers(0, 4), extra=st.integers(0, 4))
def test_a_perfect_cycle_passes_in_any_rotation(k, cycles, rotation, extra):
    order = BACKENDS[:k]
    rotated = order[rotation % k:] + order[: rotation % k]
    sequence = (rotated * (cycles + 1))[: cycles * k + extra % k]
    verdict = round_robin([Sample(t=float(i), ok=True, backend=b) for i, b in enumerate(sequence)], order)
    assert verdict.passed, verdict.message


@FAST
@given(st.lists(st.one_of(answers, failures), min_size=1, max_size=80), st.randoms(use_true_random=False))
def test_uniformity_does_not_depend_on_sample_order(data, rng):
    shuffled = list(data)
    rng.shuffle(shuffled)
    a, b = uniform(data, BACKENDS[:3]), uniform(shuffled, BACKENDS[:3])
    assert (a.passed, a.category, a.measured) == (b.passed, b.category, b.measured)


def _never_rescued(judge, data, extra_failure):
    before = judge(data)
    after = judge([*data, extra_failure])
    assert before.passed or not after.passed, (before.message, after.message)


@FAST
@given(samples, failures)
def test_a_failed_sample_never_turns_uniform_from_fail_to_pass(data, failure):
    _never_rescued(lambda d: uniform(d, BACKENDS[:3]), data, failure)


@FAST
@given(samples, failures)
def test_a_failed_sample_never_rescues_local_only_or_snat(data, failure):
    _never_rescued(lambda d: only_backends(d, ["webpod1"]), data, failure)
    _never_rescued(lambda d: cluster_snat(d, CLIENT, NODES), data, failure)
    _never_rescued(lambda d: local_preserves_client(d, CLIENT, NODES, {"webpod1"}), data, failure)


@FAST
@given(samples, failures)
def test_a_failed_sample_never_rescues_round_robin_or_affinity(data, failure):
    _never_rescued(lambda d: round_robin(d, BACKENDS[:3]), data, failure)
    _never_rescued(lambda d: sticky({"mypc": d}), data, failure)


@FAST
@given(st.lists(st.sampled_from([None, "worker", "worker2"]), min_size=2, max_size=300), st.integers(0, 299),
       st.booleans())
def test_a_timeline_never_recovers_before_the_first_answer_through_the_new_owner(pattern, fault_index, serves):
    t0, interval = 1000.0, 0.01
    ips = {"worker": "10.0.0.3", "worker2": "10.0.0.4"}
    samples = tuple(Sample(t=t0 + i * interval, ok=via is not None, remote=ips.get(via or ""))
                    for i, via in enumerate(pattern))
    trace = AvailabilityTrace("vip", interval, 0.2, t0, t0 + len(pattern) * interval, samples)
    fault = t0 + (fault_index % len(pattern)) * interval
    probes = attribute(samples, "Cluster", {v: k for k, v in ips.items()}, {})
    tl = build_timeline(trace, probes, fault_kind="node-stop", fault=fault, undo=None, victim="worker",
                        new_owner="worker2", final_owner=None, node_macs={"worker": "a", "worker2": "b"},
                        old_dataplane_serves=serves)
    first_new = next((p.t for p in probes if p.t >= fault and p.via == "worker2"), None)
    assert tl.first_via_new == first_new
    if first_new is None:
        assert tl.outage_ms is None and not within_budget(tl, 120).passed
    else:
        assert 0 <= tl.outage_ms <= tl.ms(first_new) + interval * 1000
        if not serves:
            assert tl.outage_ms == tl.ms(first_new)
