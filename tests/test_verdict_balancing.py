"""Balancing verdicts on synthetic data."""

import random

import pytest

from pytest_lbconform.probes.records import Sample
from pytest_lbconform.verdicts.balancing import DEFAULT_ALPHA, only_backends, required_n, round_robin, sticky, uniform

B = ["webpod1", "webpod2", "webpod3"]
REFUSED = "ConnectionRefusedError: [Errno 111] Connection refused"


def answers(seq):
    """Successful samples answering from the backends in ``seq``, in order."""
    return [Sample(t=float(i), ok=True, backend=b) for i, b in enumerate(seq)]


def from_counts(counts):
    return answers([b for b, n in counts.items() for _ in range(n)])


def failed(n, error=REFUSED):
    return [Sample(t=1000.0 + i, ok=False, error=error) for i in range(n)]


def test_a_fair_random_split_passes():
    rng = random.Random(7)
    counts = {b: 0 for b in B}
    for _ in range(900):
        counts[rng.choice(B)] += 1
    verdict = uniform(from_counts(counts), B)
    assert verdict.passed, verdict.message
    assert verdict.figures["p_value"] > 0.001


def test_the_healthy_split_that_failed_at_alpha_0_001_passes():
    """The loaded mutant bench at c84e13b: a healthy random scheduler gave this split, p = 0.00097 < 0.001 (a false
    failure one healthy run in a thousand makes by chance). At the verdict's α it passes."""
    verdict = uniform(from_counts({"webpod1": 337, "webpod2": 314, "webpod3": 249}), B)
    assert verdict.figures["p_value"] == pytest.approx(0.00097, abs=0.00001)
    assert verdict.passed, verdict.message
    assert not uniform(from_counts({"webpod1": 337, "webpod2": 314, "webpod3": 249}), B, alpha=0.001).passed


def test_the_suite_collects_enough_connections_for_its_power():
    """UNIFORM_SAMPLES keeps the power at 0.99 for a 10-point skew at the verdict's α: lowering α without raising
    the sample (or the reverse) fails here."""
    from pytest_lbconform.suites.test_balancing import UNIFORM_SAMPLES

    assert required_n(3) <= UNIFORM_SAMPLES
    assert required_n(3, alpha=0.001) == 784  # the figure README gave for α = 0.001
    assert DEFAULT_ALPHA <= 1e-5


def test_a_ten_point_skew_at_the_suites_sample_size_is_detected():
    verdict = uniform(from_counts({"webpod1": 520, "webpod2": 340, "webpod3": 340}), B)  # 43/28/28 % of 1,200
    assert not verdict.passed and verdict.category == "balancing skew", verdict.message


def test_a_ten_point_skew_over_800_connections_is_detected():
    verdict = uniform(from_counts({"webpod1": 347, "webpod2": 227, "webpod3": 226}), B)  # 43/28/28 %
    assert not verdict.passed and verdict.category == "balancing skew" and "p=" in verdict.measured


def test_a_backend_never_seen_fails_even_if_the_rest_is_even():
    verdict = uniform(from_counts({"webpod1": 400, "webpod2": 400}), B)
    assert not verdict.passed and "webpod3" in verdict.measured


def test_answers_from_an_unknown_backend_fail():
    assert not uniform(from_counts({"webpod1": 10, "webpod2": 10, "webpod3": 10, "intruder": 1}), B).passed


def test_no_samples_fail():
    verdict = uniform([], B)
    assert not verdict.passed and verdict.category == "connection failures"


def test_a_perfect_cycle_passes_round_robin_and_is_astronomically_unlikely_from_random():
    verdict = round_robin(answers(B * 10), B)
    assert verdict.passed
    assert verdict.figures["p_random_scheduler_cycles"] < 1e-12


def test_a_random_sequence_is_not_round_robin():
    rng = random.Random(3)
    assert not round_robin(answers([rng.choice(B) for _ in range(30)]), B).passed


def test_declared_phase_slips_are_tolerated_and_no_more():
    seq = B * 3 + B[1:] + B * 2  # a foreign connection took webpod1's turn once
    assert not round_robin(answers(seq), B).passed
    verdict = round_robin(answers(seq), B, shifts_allowed=1)
    assert verdict.passed and verdict.figures["phase_slips"] == 1


def test_a_cycle_that_skips_a_backend_fails():
    assert not round_robin(answers(["webpod1", "webpod2"] * 10), B).passed


def test_too_few_samples_for_round_robin_fail():
    assert "need" in round_robin(answers(B), B).measured


def test_affinity_judges_each_client_separately():
    ok = sticky({"mypc": answers(["webpod2"] * 50), "mypc2": answers(["webpod3"] * 50)})
    assert ok.passed and "mypc→webpod2" in ok.measured
    loose = sticky({"mypc": answers(["webpod2"] * 49 + ["webpod1"]), "mypc2": answers(["webpod3"] * 50)})
    assert not loose.passed and "mypc" in loose.measured and "mypc2" not in loose.measured


def test_local_only_flags_foreign_backends():
    assert only_backends(answers(["webpod2"] * 40), ["webpod2"]).passed
    assert not only_backends(answers(["webpod2"] * 40 + ["webpod1"]), ["webpod2"]).passed


# -- every answer judged: failed connections count (kubernetes/kubernetes#71596: 1 of N answered) --------
def test_a_third_of_connections_refused_fails_uniform_although_the_answers_are_even():
    verdict = uniform(from_counts({"webpod1": 200, "webpod2": 200, "webpod3": 200}) + failed(300), B)
    assert not verdict.passed and verdict.category == "connection failures"
    assert verdict.measured.startswith("300 of 900 connections failed (ConnectionRefusedError 300); at most 4 may")
    assert verdict.figures["failed"] == 300 and verdict.figures["answered"] == 600


def test_failures_within_the_bound_pass_and_are_reported():
    verdict = uniform(from_counts({"webpod1": 300, "webpod2": 300, "webpod3": 296}) + failed(4, "TimeoutError"), B)
    assert verdict.passed, verdict.message
    assert "896/900 answered (4 failed ≤ 4 allowed)" in verdict.measured
    assert not uniform(from_counts({"webpod1": 300, "webpod2": 300, "webpod3": 295}) + failed(5), B).passed


def test_round_robin_with_refused_connections_fails_on_the_failures():
    verdict = round_robin(answers(B * 10) + failed(1), B)
    assert not verdict.passed and verdict.category == "connection failures" and "1 of 31" in verdict.measured


def test_local_only_with_lost_connections_fails():
    verdict = only_backends(answers(["webpod2"] * 80) + failed(40), ["webpod2"])
    assert not verdict.passed and verdict.category == "connection failures" and "40 of 120" in verdict.measured


def test_affinity_counts_each_clients_failures():
    verdict = sticky({"mypc": answers(["webpod2"] * 50), "mypc2": answers(["webpod3"] * 25) + failed(25)})
    assert not verdict.passed and verdict.category == "connection failures"
    assert "mypc2: 25 of 50 connections failed" in verdict.measured and "mypc:" not in verdict.measured
    assert not sticky({"mypc": failed(10)}).passed and not sticky({}).passed
