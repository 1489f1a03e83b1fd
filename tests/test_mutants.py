"""The suite proves it can fail: every mutant of the reference LB is caught by the check that
targets it, no other check fails unless the broken promise implies it (providers/mutants.py says
which and why), and the healthy reference passes everything, repeatedly.

Writes ``reports/mutation-score.json`` and ``.md`` (mutant → the checks that caught it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_lbconform.checks import CHECKS
from pytest_lbconform.providers.mutants import MUTANTS
from tests.conftest import ROOT, run_suite

HEALTHY_REPEATS = 5
SCORES: dict[str, dict[str, object]] = {}


def failed_checks(report_dir: Path) -> tuple[set[str], list[str], dict[str, str], dict[str, set[str]]]:
    """(failed verdict ids, tests that failed without a verdict (inconclusive), a message per failed
    verdict, the categories each failed verdict id was reported with)."""
    report = json.loads((report_dir / "conformance.json").read_text())
    failed: set[str] = set()
    messages: dict[str, str] = {}
    categories: dict[str, set[str]] = {}
    errors: list[str] = []
    for profile in report["profiles"]:
        for chk in profile["checks"]:
            bad = [v for v in chk["verdicts"] if not v["passed"]]
            for verdict in bad:
                failed.add(verdict["check"])
                categories.setdefault(verdict["check"], set()).add(verdict["category"])
                messages.setdefault(verdict["check"], f"{chk['id']}: [{verdict['category']}] {verdict['measured']}")
            if chk["outcome"] in ("failed", "inconclusive") and not bad:
                errors.append(f"{chk['id']}: {chk['message']}")
    return failed, errors, messages, categories


def run(tmp_path: Path, *args: str) -> tuple[set[str], list[str], dict[str, str], dict[str, set[str]]]:
    result, _pid = run_suite("--lb=keepalived", "--proxy-mode=random", f"--report-dir={tmp_path}", *args)
    assert result.returncode in (0, 1), f"the run did not complete:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    assert (tmp_path / "conformance.json").exists(), result.stdout[-3000:]
    return failed_checks(tmp_path)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_by_its_targeted_check(docker_client, tmp_path, name):
    mutant = MUTANTS[name]
    failed, errors, messages, categories = run(tmp_path, f"--lab-mutant={name}")
    caught = sorted(failed & mutant.targets)
    false_alarms = sorted(failed - mutant.targets - set(mutant.implied))
    SCORES[name] = {"promise": mutant.promise, "caught_by": caught,
                    "also_failed_as_implied": sorted(failed & set(mutant.implied)),
                    "unexpected": false_alarms + errors, "evidence": {c: messages[c] for c in caught}}
    assert caught, f"mutant {name} ({mutant.promise}) was not caught by {sorted(mutant.targets)}; failed: {sorted(failed)}"
    assert not false_alarms, f"mutant {name}: checks failed that it does not imply: {[messages[c] for c in false_alarms]}"
    assert not errors, f"mutant {name}: tests errored instead of judging: {errors}"
    for check in caught:  # reported with a failure class that the registry declares for that check
        assert categories[check] and categories[check] <= set(CHECKS[check].categories), (check, categories[check])


@pytest.mark.parametrize("repeat", range(1, HEALTHY_REPEATS + 1))
def test_healthy_reference_passes_everything(docker_client, tmp_path, repeat):
    failed, errors, messages, _ = run(tmp_path)
    SCORES.setdefault("(healthy)", {"runs": 0, "false_failures": []})
    SCORES["(healthy)"]["runs"] = repeat  # type: ignore[index]
    SCORES["(healthy)"]["false_failures"] += [messages[c] for c in failed] + errors  # type: ignore[index, operator]
    assert not failed and not errors, f"healthy run {repeat} failed: {[messages[c] for c in failed] + errors}"


@pytest.fixture(scope="module", autouse=True)
def write_mutation_score():
    yield
    if not SCORES:
        return
    mutants = {k: v for k, v in SCORES.items() if k in MUTANTS}
    caught = sum(bool(v["caught_by"]) and not v["unexpected"] for v in mutants.values())
    healthy = SCORES.get("(healthy)", {"runs": 0, "false_failures": []})
    summary = {"mutants": len(mutants), "caught": caught,
               "score": round(caught / len(mutants), 3) if mutants else None,
               "healthy_runs": healthy["runs"], "healthy_false_failures": len(healthy["false_failures"]),  # type: ignore[arg-type]
               "detail": SCORES}
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "mutation-score.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = ["| mutant | promise broken | caught by | also failed (implied) | unexpected |", "|---|---|---|---|---|"]
    for name, row in mutants.items():
        lines.append(f"| {name} | {row['promise']} | {', '.join(row['caught_by']) or '**not caught**'} | "  # type: ignore[arg-type]
                     f"{', '.join(row['also_failed_as_implied']) or '—'} | {len(row['unexpected'])} |")  # type: ignore[arg-type]
    lines.append(f"\nScore {caught}/{len(mutants)}; healthy runs {healthy['runs']}, "
                 f"false failures {len(healthy['false_failures'])}.")  # type: ignore[arg-type]
    (out / "mutation-score.md").write_text("\n".join(lines) + "\n")
