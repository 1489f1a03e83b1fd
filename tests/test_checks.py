"""The check registry is the one source of ids, categories, profiles, capabilities and modes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_lbconform import checks
from pytest_lbconform.faults import FAULT_KINDS
from pytest_lbconform.paths import SUITES
from pytest_lbconform.providers.mutants import MUTANTS, Hooks
from pytest_lbconform.providers.spec import builtin_specs
from pytest_lbconform.report import allure_files
from pytest_lbconform.verdicts.arp import owners_as_intended
from pytest_lbconform.verdicts.result import Verdict
from tests.conftest import ROOT


def test_every_check_names_a_known_profile_capability_and_categories():
    for row in checks.CHECKS.values():
        assert row.profile in checks.PROFILES, row
        capability = row.capability.format(kind=FAULT_KINDS[0])
        assert capability in checks.CAPABILITIES, row
        assert row.categories and all(c in checks.CATEGORIES for c in row.categories), row
        assert row.family in {"arp_ownership", "failover", "snat", "balancing", "vip_allocation"}, row


def test_every_fault_kind_has_a_capability_with_a_tier():
    for kind in FAULT_KINDS:
        assert checks.CAPABILITIES[f"failover:{kind}"].tier in (checks.CORE, checks.EXTENDED)


def test_traffic_checks_state_an_error_bound_with_its_reason():
    for row in checks.CHECKS.values():
        if "connection failures" in row.categories:
            assert row.error_bound is not None and row.error_bound.reason, row
            assert 0 <= row.error_bound.max_share < 0.05
    assert checks.STEADY.allowed(120) == 0 and checks.STEADY.allowed(900) == 4


def test_every_mutant_targets_and_implies_registry_checks_only():
    for mutant in MUTANTS.values():
        assert mutant.targets, mutant.name
        for check_id in [*mutant.targets, *mutant.implied]:
            assert check_id in checks.CHECKS, f"mutant {mutant.name} names unknown check {check_id}"


def test_every_mutant_declares_hooks_that_change_the_provider_and_no_two_alike():
    healthy = Hooks()
    for mutant in MUTANTS.values():
        assert mutant.hooks != healthy, f"mutant {mutant.name} declares no hook: it would run the healthy LB"
    assert len({m.hooks for m in MUTANTS.values()}) == len(MUTANTS), "two mutants declare the same hooks"


def test_a_mutant_naming_a_hook_that_does_not_exist_is_refused():
    with pytest.raises(TypeError):
        Hooks(**{"vip_on_lo": True})  # typo of vips_on_lo


def test_every_check_is_the_target_of_a_mutant_unless_it_needs_kubernetes():
    targeted = {t for m in MUTANTS.values() for t in m.targets}
    untargeted = {c.id for c in checks.CHECKS.values() if c.id not in targeted and c.profile != "SERVICE-API"}
    assert not untargeted, f"checks no lab mutant shows failing: {sorted(untargeted)}"


def test_a_verdict_naming_an_unknown_check_or_category_is_refused():
    with pytest.raises(KeyError, match="not in the registry"):
        Verdict("arp-ownersihp", True, "e", "m")
    with pytest.raises(ValueError, match="not in the registry"):
        Verdict("arp-ownership", False, "e", "m", {}, "no such category")
    with pytest.raises(ValueError, match="not one the check declares"):
        Verdict("arp-ownership", False, "e", "m", {}, "SNAT mismatch")
    with pytest.raises(ValueError, match="no failure category"):
        Verdict("arp-ownership", True, "e", "m", {}, "no ARP owner")


def test_every_accepted_mode_of_every_provider_has_a_scheduler_and_a_data_plane():
    for spec in builtin_specs().values():
        for platform in spec.platforms:
            for mode in spec.accepted_modes(platform):
                row = checks.MODES[mode]
                assert row.scheduler in ("random", "rr") and row.dataplane, (spec.name, mode)
    assert checks.MODES["ipvs-nostrictarp"].scheduler == "rr"


def test_allure_categories_come_from_the_registry():
    names = [c["name"] for c in allure_files.categories()]
    assert names[:-1] == list(checks.CATEGORIES) and names[-1] == checks.INFRASTRUCTURE
    assert "allocation" in names and "connection failures" in names


def test_every_suite_test_judges_registry_checks():
    """Collect the suites: every test declares what it judges (an unknown id is a usage error)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--proxy-mode=random", str(SUITES)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for path in SUITES.glob("test_*.py"):
        text = path.read_text()
        assert text.count("\ndef test_") == text.count("@pytest.mark.judges("), path.name


# -- owners as intended --------------------------------------------------------------------------
INTENDED = {"svc1": "worker", "svc2": "worker2", "svc3": "worker3"}


def test_owners_as_intended_pass_when_report_and_wire_agree_with_the_intent():
    verdict = owners_as_intended(INTENDED, INTENDED, INTENDED)
    assert verdict.passed and "over 3 nodes" in verdict.measured


def test_owners_collapsed_onto_one_node_fail_even_though_each_vip_has_one_owner():
    collapsed = dict.fromkeys(INTENDED, "worker")
    verdict = owners_as_intended(collapsed, collapsed, INTENDED)
    assert not verdict.passed and verdict.category == "owners not as intended"
    assert "svc2: intended worker2, reported worker, on the wire worker" in verdict.measured
    assert "svc1" not in verdict.measured


def test_owners_wrong_on_the_wire_only_fail():
    wire = {**INTENDED, "svc3": None}
    assert not owners_as_intended(INTENDED, wire, INTENDED).passed
    assert not owners_as_intended(INTENDED, INTENDED, {}).passed


def test_a_verdict_is_true_or_false_with_texts():
    with pytest.raises(TypeError, match="passed must be True or False"):
        Verdict("arp-ownership", None, "e", "m", {}, "no ARP owner")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty texts"):
        Verdict("arp-ownership", True, None, "m")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty texts"):
        Verdict("arp-ownership", True, "e", "")


def test_a_verdict_carries_its_figures_as_a_dict():
    with pytest.raises(TypeError, match="figures must be a dict"):
        Verdict("arp-ownership", True, "e", "m", None)  # type: ignore[arg-type]


def test_every_environment_has_a_plan_and_no_plan_lacks_an_environment():
    from pytest_lbconform.environment import ENVIRONMENTS
    from pytest_lbconform.plan import PLANS

    assert set(PLANS) == set(ENVIRONMENTS)


def test_every_mutant_runs_in_known_modes_and_each_target_is_judged_in_one_of_them():
    for mutant in MUTANTS.values():
        assert mutant.modes and set(mutant.modes) <= set(checks.MODES), mutant.name
        assert len(set(mutant.modes)) == len(mutant.modes), mutant.name
        for target in mutant.targets:
            assert any(checks.judged_in_mode(target, m) for m in mutant.modes), (mutant.name, target)
        if len(mutant.modes) > 1:
            assert mutant.why_modes, f"mutant {mutant.name} runs {len(mutant.modes)} modes without saying why"


def test_scheduler_checks_are_judged_only_in_their_schedulers_modes():
    assert checks.judged_in_mode("balancing-uniform", "random") and not checks.judged_in_mode("balancing-uniform", "rr")
    assert checks.judged_in_mode("balancing-round-robin", "ipvs")
    assert not checks.judged_in_mode("balancing-round-robin", "nftables")
    assert checks.judged_in_mode("arp-ownership", "rr") and checks.judged_in_mode("arp-ownership", "random")
