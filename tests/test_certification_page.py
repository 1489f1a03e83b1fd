"""The certification page in a real browser (headless Chromium): a summary first, every check with its registry
ids, tier, outcome, a labelled expected/measured row per verdict and evidence that opens, the GARP frames as a
table, the run id and the suite's commit, one clean LB line, no Python reprs (issue 23).

The same checks run against the page 9a7e0c7 wrote for a healthy run (``tests/data/certification-page-9a7e0c7.html``)
and find what the issue lists. Screenshots go to ``screenshots/`` in the test artifacts directory
(``LBCONFORM_TEST_ARTIFACTS``; ``docs/img/certification-page*.png`` are copies of them).
"""

from __future__ import annotations

import re
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from pytest_lbconform import checks
from pytest_lbconform.faults import FAULT_KINDS
from tests import page_data
from tests import report_render as render

TODAY = Path(__file__).parent / "data" / "certification-page-9a7e0c7.html"
REPR = re.compile(r"\{'|'\}|\['|'\]|\('")
BANNER_DATE = re.compile(r"\(\d\d/\d\d,\d{4}\)")


def _texts(driver: render.WebDriver, selector: str) -> list[str]:
    return [str(e.text) for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def page_problems(driver: render.WebDriver, page: Path, report: dict[str, Any] | None = None) -> list[str]:
    """What a reader of the certification page at ``page`` (open in ``driver``) would miss; ``report`` is the
    conformance.json it was written from, when there is one, to check counts against."""
    body = render.body_text(driver)
    check_rows = driver.find_elements(By.CSS_SELECTOR, "tr.check")
    verdict_rows = driver.find_elements(By.CSS_SELECTOR, "tr.verdict")
    ran = {k for k in FAULT_KINDS for e in driver.find_elements(By.CSS_SELECTOR, "tr.passed, tr.failed, tr.check")
           if f"-{k}-" in str(e.text) and "skipped" not in str(e.text)}
    problems = [*_summary_problems(driver, body), *_header_problems(driver, body),
                *_check_row_problems(check_rows, page), *_verdict_problems(verdict_rows),
                *_text_problems(driver, body), *_budget_problems(driver, ran)]
    broken = driver.execute_script("return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                                   ".map(i => i.getAttribute('src'))")
    if broken:
        problems.append(f"images that do not load: {broken}")
    if report is not None:
        problems += _against(driver, report, check_rows, verdict_rows, ran)
    return problems


def _summary_problems(driver: render.WebDriver, body: str) -> list[str]:
    profiles = list(checks.PROFILES)
    summary = driver.execute_script(
        "const t = [...document.querySelectorAll('table')].find(t => /\\bprofile\\b/.test(t.rows[0]?.innerText || '')"
        " && /\\bcore\\b/.test(t.rows[0].innerText) && /\\bextended\\b/.test(t.rows[0].innerText));"
        "return t ? t.innerText : null")
    problems = []
    if not summary or not all(name in summary for name in profiles):
        problems.append("no summary table of profiles × core / extended results")
    elif body.index(summary.splitlines()[1].split("\t")[0]) > body.index(profiles[0] + ":"):
        problems.append("the summary is not first")
    if "Not tested, and why" not in body:
        problems.append("no list of what was not tested, and why")
    return problems


def _header_problems(driver: render.WebDriver, body: str) -> list[str]:
    problems = []
    lb = [line for line in body.splitlines() if line.startswith("LB: ")]
    if len(lb) != 1 or BANNER_DATE.search(lb[0]):
        problems.append(f"no single clean 'LB: <project> <version>' line: {lb}")
    problems += [f"the header does not say its {needed}" for needed in ("run id", "commit", "checkout modified")
                 if needed not in body]
    if not driver.find_elements(By.CSS_SELECTOR, "a[href='allure-report/index.html']"):
        problems.append("no link to the Allure report")
    return problems


def _check_row_problems(check_rows: list[Any], page: Path) -> list[str]:
    problems = [] if check_rows else ["no check rows naming registry check ids, tier and outcome"]
    for row in check_rows:
        text = str(row.text)
        if not re.search(r"checks [a-z-]+", text) or "tier" not in text or "outcome" not in text:
            problems.append(f"a check row without its check ids, tier or outcome: {text[:80]}")
        links = row.find_elements(By.CSS_SELECTOR, ".evidence a")
        if ("outcome passed" in text or "outcome failed" in text) and not links:
            problems.append(f"no evidence for {text.splitlines()[0]}")
        for link in links:
            href = str(link.get_attribute("href") or "")
            target = page.parent / urllib.parse.unquote(href.removeprefix(page.parent.as_uri() + "/"))
            if not target.is_file() or target.stat().st_size == 0:
                problems.append(f"evidence link to nothing: {href}")
    return problems


def _verdict_problems(verdict_rows: list[Any]) -> list[str]:
    problems = [] if verdict_rows else ["verdicts are not one labelled row each"]
    for row in verdict_rows:
        cells = [str(c.text) for c in row.find_elements(By.TAG_NAME, "td")]
        if len(cells) != 4 or not cells[2].startswith("expected") or not cells[3].startswith("measured") \
                or cells[1].split()[0] not in ("passed", "failed") or cells[0] not in checks.CHECKS:
            problems.append(f"a verdict row not labelled check id / passed or failed / expected / measured: {cells}")
    return problems


def _text_problems(driver: render.WebDriver, body: str) -> list[str]:
    problems = []
    found = REPR.search(body)
    if found:
        problems.append(f"Python reprs on the page, e.g. {found.group(0)!r} in "
                        f"{body[max(0, found.start() - 60):found.end() + 20]!r}")
    problems += [f"a family heading without counts: {h!r}" for h in _texts(driver, "h3") if h.endswith("()")]
    return problems


def _budget_problems(driver: render.WebDriver, ran: set[str]) -> list[str]:
    problems = []
    for table in driver.find_elements(By.TAG_NAME, "table"):
        if str(table.text).startswith("fault budget"):
            for row in table.find_elements(By.TAG_NAME, "tr")[1:]:
                fault = str(row.find_elements(By.TAG_NAME, "td")[0].text)
                if fault not in ran:
                    problems.append(f"the budget table lists {fault}, which did not run")
    return problems


def _against(driver: render.WebDriver, report: dict[str, Any], check_rows: list[Any], verdict_rows: list[Any],
             ran: set[str]) -> list[str]:
    problems = []
    every = [c for p in report["profiles"] for c in p["checks"]]
    if len(check_rows) != len(every):
        problems.append(f"{len(check_rows)} check rows for {len(every)} checks")
    if len(verdict_rows) != sum(len(c["verdicts"]) for c in every):
        problems.append("not one row per verdict")
    body = render.body_text(driver)
    if report["run_id"] not in body or report["suite"]["commit"][:12] not in body:
        problems.append("the run id or the suite commit is missing")
    frames = [f for c in every for f in (c.get("timeline") or {}).get("garp_frames", [])]
    if len(driver.find_elements(By.CSS_SELECTOR, "table.garp tr")) != len(frames) + sum(
            1 for c in every if (c.get("timeline") or {}).get("garp_frames") is not None):
        problems.append("the GARP frames are not a table row each")
    budgets = {str(r.find_elements(By.TAG_NAME, "td")[0].text) for r in driver.find_elements(By.CSS_SELECTOR,
                                                                                              "#budgets tr")[1:]}
    if budgets != ran:
        problems.append(f"budgets shown for {sorted(budgets)}, faults that ran: {sorted(ran)}")
    for prof in report["profiles"]:
        for tier in ("core", "extended"):
            text = f"{prof[tier]['passed']} passed"
            if prof[tier]["passed"] and text not in body:
                problems.append(f"{prof['name']} {tier}: {text} not on the page")
    return problems


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    report_dir = tmp_path_factory.mktemp("report")
    return report_dir, page_data.build(report_dir)


def screenshots(tmp_path: Path) -> Path:
    """The test artifacts' screenshots folder (``tests/conftest.py``: never the repository's reports/)."""
    render.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return render.SCREENSHOTS


def test_the_certification_page_in_chromium(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    report_dir, report = built
    page = report_dir / "conformance.html"
    with render.browser() as driver:
        driver.get(page.as_uri())
        render.wait_for(driver, "the summary", lambda d: d.find_elements(By.ID, "summary"))
        assert page_problems(driver, page, report) == []
        assert render.remote_requests(driver) == []
        text = render.body_text(driver)
        assert "LB: keepalived (VRRPv3) + nftables — pytest-lbconform reference LB · Keepalived v2.2.7" in text
        failover_row = str(driver.find_element(By.CSS_SELECTOR, "#summary tr:nth-child(3)").text)
        assert failover_row.split() == ["L2-FAILOVER", "success", "success", "1", "passed", "not-supported", "6", "skipped"]
        not_tested = str(driver.find_element(By.ID, "not-tested").text)
        assert "failover:node-freeze" in not_tested and "SERVICE-API" in not_tested and "no Kubernetes API" in not_tested
        where = screenshots(tmp_path)
        driver.save_screenshot(str(where / "certification-page.png"))
        failover = driver.find_element(By.ID, "test_failover[lab-random-node-stop-svc1]")
        driver.execute_script("arguments[0].scrollIntoView()", failover)
        driver.save_screenshot(str(where / "certification-page-failover.png"))
    assert (where / "certification-page.png").stat().st_size > 10_000


def test_the_page_9a7e0c7_wrote_fails_these_checks(tmp_path: Path) -> None:
    page = tmp_path / "conformance.html"
    shutil.copy(TODAY, page)
    with render.browser() as driver:
        driver.get(page.as_uri())
        problems = page_problems(driver, page)
    found = "\n".join(problems)
    for expected in ("no summary table", "no list of what was not tested", "no single clean 'LB:",
                     "the header does not say its run id", "no link to the Allure report",
                     "no check rows naming registry check ids", "Python reprs on the page",
                     "a family heading without counts: 'VIP allocation ()'",
                     "the budget table lists agent-crash, which did not run",
                     "the budget table lists node-freeze, which did not run"):
        assert expected in found, (expected, problems)
