"""A run deletes only what it wrote: the Allure results folder is emptied of earlier runs' files, never of a
user's; a folder holding foreign files is refused in one line before anything starts."""

from __future__ import annotations

import json

import pytest

from pytest_lbconform.errors import ConfigError
from pytest_lbconform.paths import SUITES
from pytest_lbconform.report import results_dir

UUID = "0370fcc5-62cb-4e46-985d-c2714218f155"


def claim(tmp_path, results):
    return results_dir.claim(tmp_path, results, "--report-dir=x")


def test_a_users_file_is_refused_with_its_name_and_nothing_is_removed(tmp_path):
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "mine.json").write_text("{}")
    (results / f"{UUID}-result.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"holds 2 file\(s\) this suite did not write \(.*mine\.json\)"):
        claim(tmp_path, results)
    assert sorted(p.name for p in results.iterdir() if p.name != results_dir.LOCK) == sorted(
        [f"{UUID}-result.json", "mine.json"])


def test_what_the_last_run_wrote_is_removed_and_the_next_run_is_marked_incomplete(tmp_path):
    results = tmp_path / "allure-results"
    lock = claim(tmp_path, results)
    (results / f"{UUID}-result.json").write_text("{}")
    (results / "history").mkdir()
    (results / "history" / "history.json").write_text("{}")
    evidence = tmp_path / "evidence" / "test_x"
    evidence.mkdir(parents=True)
    (evidence / "arp.pcap").write_bytes(b"x")
    (evidence / "mine.txt").write_text("the user's")
    results_dir.seal(tmp_path, results, lock, ["test_x/arp.pcap"])
    manifest = json.loads((results / results_dir.MANIFEST).read_text())
    assert manifest["written"] == [f"{UUID}-result.json", "history"] and manifest["evidence"] == ["test_x/arp.pcap"]
    claim(tmp_path, results).close()
    assert sorted(p.name for p in results.iterdir()) == sorted([results_dir.MANIFEST, results_dir.LOCK])
    assert json.loads((results / results_dir.MANIFEST).read_text())["complete"] is False
    assert [p.name for p in evidence.iterdir()] == ["mine.txt"]  # the earlier run's evidence only


def test_a_file_added_after_a_sealed_run_is_foreign(tmp_path):
    results = tmp_path / "allure-results"
    results_dir.seal(tmp_path, results, claim(tmp_path, results), [])
    (results / f"{UUID}-result.json").write_text("{}")  # not listed: someone else's Allure result
    with pytest.raises(ConfigError, match="did not write"):
        claim(tmp_path, results)


def test_a_manifest_naming_paths_outside_its_folder_is_never_followed(tmp_path):
    """A manifest is a file in a shared folder: ``..``, absolute paths and separators in it delete nothing."""
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    (tmp_path / "evidence" / "t").mkdir(parents=True)
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / results_dir.MANIFEST).write_text(json.dumps({
        "complete": True, "written": ["../precious", "..", ".", "", str(precious), "a/b"],
        "evidence": ["../../precious/keep.txt", "t/../../precious/keep.txt", str(precious / "keep.txt")]}))
    claim(tmp_path, results).close()
    assert (precious / "keep.txt").read_text() == "keep" and results.is_dir()


def test_a_run_killed_before_it_sealed_leaves_a_refusal_not_a_guess(tmp_path):
    results = tmp_path / "allure-results"
    claim(tmp_path, results).close()  # killed: never sealed
    (results / f"{UUID}-attachment.png").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"did not finish .*remove that folder"):
        claim(tmp_path, results)
    assert (results / f"{UUID}-attachment.png").exists()


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    results = tmp_path / "allure-results"
    first = claim(tmp_path, results)
    try:
        with pytest.raises(ConfigError, match="another pytest-lbconform run is writing"):
            claim(tmp_path, results)
    finally:
        results_dir.seal(tmp_path, results, first, [])
    claim(tmp_path, results).close()


def test_a_symlinked_results_folder_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / f"{UUID}-result.json").write_text("{}")
    (tmp_path / "allure-results").symlink_to(target)
    with pytest.raises(ConfigError, match="not a directory this suite can write"):
        claim(tmp_path, tmp_path / "allure-results")
    assert (target / f"{UUID}-result.json").exists()


def test_a_run_with_a_users_file_in_allure_results_is_one_line_exit_4_before_anything_starts(pytester, tmp_path,
                                                                                             monkeypatch):
    """The issue-23 case: an engine that is not reachable, a user's file in allure-results: it was deleted."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    report = tmp_path / "reports"
    (report / "allure-results").mkdir(parents=True)
    mine = report / "allure-results" / "mine.json"
    mine.write_text('{"mine": true}')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lb=keepalived", f"--report-dir={report}",
                                           str(SUITES / "test_snat.py"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = result.stderr.str().strip().splitlines()
    assert len(lines) == 1 and "mine.json" in lines[0] and "did not write" in lines[0], lines
    assert mine.read_text() == '{"mine": true}'
    assert sorted(p.name for p in report.rglob("*")) == ["allure-results", "mine.json"]


def test_a_run_that_cannot_reach_the_engine_keeps_every_users_file(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    report = tmp_path / "reports"
    users = {report / "notes.txt": "mine", report / "plots" / "mine.png": "png", report / "evidence" / "mine.txt": "ev",
             report / "kind-logs" / "mine.log": "log", report / "history.old.csv": "old,history\n",
             report / "allure-report" / "index.html": "<html>"}
    for path, text in users.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lb=keepalived", f"--report-dir={report}",
                                           str(SUITES / "test_snat.py"))
    assert result.ret == 3, result.stdout.str()[-2000:]  # inconclusive: no engine
    assert {path: path.read_text() for path in users} == users
    assert (report / "conformance.json").exists()
