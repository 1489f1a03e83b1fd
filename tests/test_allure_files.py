"""What Allure reads beside the results: categories both versions match, executor, carried history, and the
Allure 3 config file (rendered for real in tests/test_mutants.py, in headless Chromium)."""

import json
import re

from pytest_lbconform import checks
from pytest_lbconform.report import allure_files


def test_categories_match_a_multi_line_failure_message_as_both_allure_versions_do():
    message = "AssertionError: [failover over budget] svc1 served again after 4.1 s\nassert False"
    matched = [c["name"] for c in allure_files.categories() if "failed" in c["matchedStatuses"]
               and re.fullmatch(c["messageRegex"], message)]  # Allure 2 matches the whole message (Java matches())
    assert matched == ["failover over budget"]
    for c in allure_files.categories():  # no escaped spaces: JavaScript refuses "\ " with the u flag
        assert "\\ " not in c["messageRegex"]


def test_allure3_config_carries_categories_grouping_a_single_file_and_history(tmp_path):
    allure_files.write(tmp_path / "allure-results", {"lb": "keepalived"}, report_dir=tmp_path,
                       report_name="pytest-lbconform: keepalived on lab (random)", run_id="abc123", order=3)
    config = json.loads((tmp_path / "allurerc.json").read_text())
    assert config["resultsDir"] == "allure-results" and config["historyPath"] == "allure-history.jsonl"
    assert config["hideLabels"] == ["thread", "framework", "language"]
    assert [r["name"] for r in config["categories"]["rules"]] == [c["name"] for c in allure_files.categories()]
    awesome = config["plugins"]["awesome"]["options"]
    assert awesome == {"reportName": config["name"], "singleFile": True, "groupBy": ["epic", "feature", "story"]}
    executor = json.loads((tmp_path / "allure-results" / "executor.json").read_text())
    assert executor["buildOrder"] == 3 and "abc123" in executor["buildName"] and executor["type"] == "local"
    assert len(config["categories"]["rules"]) == len(checks.CATEGORIES) + 1


def test_a_results_directory_outside_the_report_directory_is_named_absolutely(tmp_path):
    allure_files.write(tmp_path / "elsewhere", {}, report_dir=tmp_path / "reports")
    assert json.loads((tmp_path / "reports" / "allurerc.json").read_text())["resultsDir"] == str(tmp_path / "elsewhere")


def test_the_executor_names_the_ci_job(monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/lb")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    info = allure_files.executor("r", "id", 1)
    assert (info["type"], info["buildUrl"]) == ("github", "https://github.com/acme/lb/actions/runs/42")


def test_allure2_history_is_carried_from_the_last_report_and_never_through_a_link(tmp_path):
    history = tmp_path / allure_files.ALLURE2_REPORT / "history"
    history.mkdir(parents=True)
    (history / "history-trend.json").write_text('[{"buildOrder": 1}]')
    (tmp_path / "secret").write_text("not for the report")
    (history / "link.json").symlink_to(tmp_path / "secret")
    results = tmp_path / "allure-results"
    results.mkdir()
    assert allure_files.carry_allure2_history(tmp_path, results)
    assert sorted(p.name for p in (results / "history").iterdir()) == ["history-trend.json"]
    assert not allure_files.carry_allure2_history(tmp_path / "none", results)


def test_build_order_counts_the_runs_in_history_csv(tmp_path):
    path = tmp_path / "history.csv"
    assert allure_files.build_order(path) == 1
    path.write_text("run_id,date\na,1\na,1\nb,2\n")
    assert allure_files.build_order(path) == 2


def test_pytests_own_unnamed_finalizers_leave_the_report_and_real_ones_stay(tmp_path):
    container = {"uuid": "c", "children": ["t"], "afters": [
        {"name": "service::<lambda>", "start": 1},                       # pytest's own, nothing recorded
        {"name": "lbconform_env::1", "start": 2},                         # a partial, nothing recorded
        {"name": "lbconform_env::_teardown", "status": "passed", "start": 3, "stop": 4},
        {"name": "kind::<lambda>", "start": 5, "status": "broken"}]}    # it failed: kept
    (tmp_path / "x-container.json").write_text(json.dumps(container))
    assert allure_files.drop_unnamed_finalizers(tmp_path) == 2
    kept = json.loads((tmp_path / "x-container.json").read_text())["afters"]
    assert [a["name"] for a in kept] == ["lbconform_env::_teardown", "kind::<lambda>"]
    assert allure_files.drop_unnamed_finalizers(tmp_path) == 0
