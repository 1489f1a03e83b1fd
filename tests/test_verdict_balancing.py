"""Balancing verdicts on synthetic data."""

import random

from pytest_lbconform.verdicts.balancing import only_backends, round_robin, sticky, uniform

B = ["webpod1", "webpod2", "webpod3"]


def test_a_fair_random_split_passes():
    rng = random.Random(7)
    counts = {b: 0 for b in B}
    for _ in range(900):
        counts[rng.choice(B)] += 1
    verdict = uniform(counts, B)
    assert verdict.passed, verdict.message
    assert verdict.figures["p_value"] > 0.001


def test_a_ten_point_skew_over_800_connections_is_detected():
    verdict = uniform({"webpod1": 347, "webpod2": 227, "webpod3": 226}, B)  # 43/28/28 %
    assert not verdict.passed and verdict.category == "balancing skew" and "p=" in verdict.measured


def test_a_backend_never_seen_fails_even_if_the_rest_is_even():
    verdict = uniform({"webpod1": 400, "webpod2": 400}, B)
    assert not verdict.passed and "webpod3" in verdict.measured


def test_answers_from_an_unknown_backend_fail():
    assert not uniform({"webpod1": 10, "webpod2": 10, "webpod3": 10, "intruder": 1}, B).passed


def test_no_samples_fail():
    assert not uniform({}, B).passed


def test_a_perfect_cycle_passes_round_robin_and_is_astronomically_unlikely_from_random():
    verdict = round_robin(B * 10, B)
    assert verdict.passed
    assert verdict.figures["p_random_scheduler_cycles"] < 1e-12


def test_a_random_sequence_is_not_round_robin():
    rng = random.Random(3)
    assert not round_robin([rng.choice(B) for _ in range(30)], B).passed


def test_declared_phase_slips_are_tolerated_and_no_more():
    seq = B * 3 + B[1:] + B * 2  # a foreign connection took webpod1's turn once
    assert not round_robin(seq, B).passed
    verdict = round_robin(seq, B, shifts_allowed=1)
    assert verdict.passed and verdict.figures["phase_slips"] == 1


def test_a_cycle_that_skips_a_backend_fails():
    assert not round_robin(["webpod1", "webpod2"] * 10, B).passed


def test_too_few_samples_for_round_robin_fail():
    assert "need" in round_robin(B, B).measured


def test_affinity_judges_each_client_separately():
    ok = sticky({"mypc": ["webpod2"] * 50, "mypc2": ["webpod3"] * 50})
    assert ok.passed and "mypc→webpod2" in ok.measured
    loose = sticky({"mypc": ["webpod2"] * 49 + ["webpod1"], "mypc2": ["webpod3"] * 50})
    assert not loose.passed and "mypc" in loose.measured and "mypc2" not in loose.measured


def test_local_only_flags_foreign_backends():
    assert only_backends({"webpod2": 40}, ["webpod2"]).passed
    assert not only_backends({"webpod2": 40, "webpod1": 1}, ["webpod2"]).passed
