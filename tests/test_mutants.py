"""The suite proves it can fail: every mutant of the reference LB is caught by the check that
targets it, no other check fails unless the broken promise implies it (providers/mutants.py says
which and why), and the healthy reference passes everything (LBCONFORM_HEALTHY_REPEATS runs, 1 by default).

Writes ``mutation-score.json`` and ``.md`` (mutant → the checks that caught it, per mode) into the test
artifacts directory (``tests/conftest.py``: ``LBCONFORM_TEST_ARTIFACTS``, else a folder in the system's temp
directory; never the repository's ``reports/``). Safe under pytest-xdist (``pytest tests -n 2``): each test writes
its row under ``mutation-rows/<testrun uid>/`` there and every worker merges the rows of its run when it
finishes, so the last one writes the whole table.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from pytest_lbconform.checks import CHECKS, judged_in_mode
from pytest_lbconform.providers.mutants import MUTANTS, Mutant
from tests import report_render as render
from tests.conftest import artifacts_dir, run_suite

#: its reports are rendered in Chromium: it fails in one mode only, so both Allure versions must show the two modes as
#: two results (counts equal to conformance.json's) with the failing mode failed, and file it under its category
RENDERED_MUTANT = "rr-drops-backend"
#: healthy whole-suite runs in `pytest tests` (1: CI also runs the main command, a healthy run of both modes, and
#: stays under 30 min); bench/bench_false_failures.py --suite mutants sets 2, and measures the false-failure rate
HEALTHY_REPEATS = int(os.environ.get("LBCONFORM_HEALTHY_REPEATS", "1"))


def rows_dir() -> Path:
    return artifacts_dir() / "mutation-rows"


def save_row(uid: str, name: str, row: dict[str, object]) -> None:
    path = rows_dir() / uid / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(row) + "\n")


def failed_checks(report_dir: Path) -> tuple[set[tuple[str, str]], list[str], dict[str, str], dict[str, set[str]]]:
    """(failed verdicts as (check id, mode), tests that failed without a verdict (inconclusive), a message per
    failed check id, the categories each failed check id was reported with)."""
    report = json.loads((report_dir / "conformance.json").read_text())
    failed: set[tuple[str, str]] = set()
    messages: dict[str, str] = {}
    categories: dict[str, set[str]] = {}
    errors: list[str] = []
    for profile in report["profiles"]:
        for chk in profile["checks"]:
            bad = [v for v in chk["verdicts"] if not v["passed"]]
            for verdict in bad:
                failed.add((verdict["check"], verdict.get("mode", "")))
                categories.setdefault(verdict["check"], set()).add(verdict["category"])
                messages.setdefault(verdict["check"], f"{chk['id']}: [{verdict['category']}] {verdict['measured']}")
            if chk["outcome"] in ("failed", "inconclusive") and not bad:
                errors.append(f"{chk['id']}: {chk['message']}")
    return failed, errors, messages, categories


def run(tmp_path: Path, *args: str, modes: tuple[str, ...] = ("random",)
        ) -> tuple[set[tuple[str, str]], list[str], dict[str, str], dict[str, set[str]]]:
    result, _pid = run_suite("--lb=keepalived", f"--proxy-mode={','.join(modes)}", f"--report-dir={tmp_path}", *args)
    assert result.returncode in (0, 1), f"the run did not complete:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    assert (tmp_path / "conformance.json").exists(), result.stdout[-3000:]
    return failed_checks(tmp_path)


def missed_targets(mutant: Mutant, failed: set[tuple[str, str]]) -> list[str]:
    """Each target must fail in every mode the mutant runs in where that target is judged."""
    return [f"{target} in {mode}" for target in sorted(mutant.targets) for mode in mutant.modes
            if judged_in_mode(target, mode) and (target, mode) not in failed]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_by_its_targeted_check(docker_client, tmp_path, name, testrun_uid):
    mutant = MUTANTS[name]
    failed, errors, messages, categories = run(tmp_path, f"--lab-mutant={name}",
                                               f"--address-families={','.join(map(str, mutant.families))}",
                                               modes=mutant.modes)
    failed_ids = {check for check, _mode in failed}
    caught = sorted(failed_ids & mutant.targets)
    missed = missed_targets(mutant, failed)
    false_alarms = sorted(failed_ids - mutant.targets - set(mutant.implied))
    save_row(testrun_uid, name, {"promise": mutant.promise, "modes": list(mutant.modes),
                                 "families": [f"IPv{f}" for f in mutant.families],
                                 "caught_by": sorted(f"{c} ({m})" for c, m in failed if c in mutant.targets),
                                 "missed": missed, "also_failed_as_implied": sorted(failed_ids & set(mutant.implied)),
                                 "unexpected": false_alarms + errors, "evidence": {c: messages[c] for c in caught}})
    assert not missed, (f"mutant {name} ({mutant.promise}): targets that did not fail where they are judged: "
                        f"{missed}; failed: {sorted(failed)}")
    assert not false_alarms, f"mutant {name}: checks failed that it does not imply: {[messages[c] for c in false_alarms]}"
    assert not errors, f"mutant {name}: tests errored instead of judging: {errors}"
    for check in caught:  # reported with a failure class that the registry declares for that check
        assert categories[check] and categories[check] <= set(CHECKS[check].categories), (check, categories[check])
    if name == RENDERED_MUTANT:
        reports_of_a_failing_run_show_its_category(tmp_path, sorted(categories[caught[0]])[0])


def reports_of_a_failing_run_show_its_category(report_dir: Path, category: str) -> None:
    """Both Allure versions, rendered with the README's commands and opened in Chromium, count what
    conformance.json counts, show the check failed in the one mode where it failed and passed in the other, and
    file the failure under the registry's category (Allure 3 from allurerc.json, Allure 2 from categories.json)."""
    report = json.loads((report_dir / "conformance.json").read_text())
    outcomes = Counter(chk["outcome"] for profile in report["profiles"] for chk in profile["checks"])
    assert outcomes["inconclusive"] == 0 and outcomes["failed"] >= 1, outcomes
    expected = {"total": sum(outcomes.values()), "failed": outcomes["failed"], "passed": outcomes["passed"],
                "skipped": outcomes["skipped"] + outcomes["not-applicable"]}
    failing = {chk["id"].split("::")[-1] for profile in report["profiles"] for chk in profile["checks"]
               if chk["outcome"] == "failed"}
    index = render.generate_allure3(report_dir)
    allure2 = render.generate_allure2(report_dir)
    assert (allure2 / "history" / "history.json").is_file()  # what the next run carries into its results
    with render.browser() as driver:
        shown = render.allure3_totals(driver, index)
        assert {k: shown.get(k, 0) for k in expected} == expected, (shown, expected)
        for name in failing:  # the same check in the other mode is a test of its own, shown passed
            other = name.replace("-rr", "-random") if "-rr" in name else name.replace("-random", "-rr")
            assert render.allure3_test_status(driver, index, name) == "failed"
            assert render.allure3_test_status(driver, index, other) == "passed", other
        render.allure3_category(driver, index, category)
        assert render.remote_requests(driver) == []  # the single file needs nothing from the network
        assert "googletagmanager" not in (allure2 / "index.html").read_text()  # ALLURE_NO_ANALYTICS=true
        render.screenshot(driver, "allure3-categories-of-a-failing-run")
        with render.served(allure2) as url:
            assert render.allure2_total(driver, url) == expected["total"]
            for name in failing:
                other = name.replace("-rr", "-random") if "-rr" in name else name.replace("-random", "-rr")
                assert render.allure2_test_status(driver, url, allure2, name) == "failed"
                assert render.allure2_test_status(driver, url, allure2, other) == "passed"
            render.allure2_category(driver, url, category)
            render.screenshot(driver, "allure2-categories-of-a-failing-run")


@pytest.mark.parametrize("repeat", range(1, HEALTHY_REPEATS + 1))
def test_healthy_reference_passes_everything(docker_client, tmp_path, repeat, testrun_uid):
    failed, errors, messages, _ = run(tmp_path, "--address-families=4,6")  # both families: what the main job runs
    false_failures = [messages[c] for c in failed] + errors
    save_row(testrun_uid, f"(healthy {repeat})", {"false_failures": false_failures})
    assert not false_failures, f"healthy run {repeat} failed: {false_failures}"
    if repeat == 1:
        reports_of_a_healthy_run_show_the_plots(tmp_path)


def reports_of_a_healthy_run_show_the_plots(report_dir: Path) -> None:
    """Every judged failover and balancing check carries a PNG; the single-file Allure 3 report shows the
    failover plot offline; the certification page shows its checks grouped by family and its plots."""
    pngs = render.png_attachments_per_test(report_dir / "allure-results", {"Failover", "Balancing"})
    assert pngs and all(pngs.values()), {name: n for name, n in pngs.items() if not n}
    index = render.generate_allure3(report_dir)
    with render.browser() as driver:
        page = render.allure3_open_test(driver, index, "test_failover[")
        assert "failover timeline" in page or "Failover" in page
        assert render.allure3_show_attachments(driver), "no decoded plot on the failover test's attachments tab"
        assert render.remote_requests(driver) == []
        render.screenshot(driver, "allure3-failover-plot")
        driver.get((report_dir / "conformance.html").as_uri())
        text = render.wait_for(driver, "the certification page", lambda d: "Failover (" in render.body_text(d)
                               and render.body_text(d))
        assert "failover-budget" in text or "test_failover" in text
        plots = render.loaded_images(driver)
        assert any(alt.startswith("plot of ") for alt in plots), plots
        render.screenshot(driver, "certification-page-of-a-healthy-lab-run")


@pytest.fixture(scope="module", autouse=True)
def write_mutation_score(testrun_uid):
    yield
    rows = {p.stem: json.loads(p.read_text()) for p in sorted((rows_dir() / testrun_uid).glob("*.json"))}
    if not rows:
        return
    mutants = {k: v for k, v in rows.items() if k in MUTANTS}
    healthy = [v for k, v in rows.items() if k.startswith("(healthy")]
    caught = sum(bool(v["caught_by"]) and not v["missed"] and not v["unexpected"] for v in mutants.values())
    healthy_false = sum(len(v["false_failures"]) for v in healthy)
    summary = {"mutants": len(mutants), "caught": caught,
               "score": round(caught / len(mutants), 3) if mutants else None,
               "healthy_runs": len(healthy), "healthy_false_failures": healthy_false, "detail": rows}
    out = artifacts_dir()
    (out / "mutation-score.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    lines = ["| mutant | promise broken | modes | caught by (mode) | missed | also failed (implied) | unexpected |",
             "|---|---|---|---|---|---|---|"]
    for name, row in sorted(mutants.items()):
        lines.append(f"| {name} | {row['promise']} | {', '.join(row['modes'])} | "
                     f"{', '.join(row['caught_by']) or '**not caught**'} | {', '.join(row['missed']) or '—'} | "
                     f"{', '.join(row['also_failed_as_implied']) or '—'} | {len(row['unexpected'])} |")
    lines.append(f"\nScore {caught}/{len(mutants)}; healthy runs {len(healthy)}, false failures {healthy_false}.")
    (out / "mutation-score.md").write_text("\n".join(lines) + "\n")
