"""Render a run's reports as a user would and look at them in a real browser.

Allure 3 (``tools/allure3``, the README's command: ``allure generate`` in the report directory, which reads
the ``allurerc.json`` the plugin wrote) as one self-contained HTML file opened from disk; Allure 2
(``tools/allure2``, allure-commandline on Java) as the multi-file report served over localhost, as
``allure open`` does; ``conformance.html`` from disk. Headless Debian Chromium driven by Selenium with
Debian's ChromeDriver (no browser download). Screenshots go to ``screenshots/`` in the test artifacts
directory (``tests/conftest.py``).

Missing tools skip locally and fail under CI=true (``scripts/setup --for-tests`` installs them).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from pytest_lbconform.config import is_ci
from pytest_lbconform.report import allure_files
from tests.conftest import artifacts_dir

ROOT = Path(__file__).resolve().parent.parent
ALLURE3 = ROOT / "tools" / "allure3" / "node_modules" / ".bin" / "allure"
ALLURE2 = ROOT / "tools" / "allure2" / "node_modules" / ".bin" / "allure"
SCREENSHOTS = artifacts_dir() / "screenshots"
#: flags that keep Chromium off the network at start (this machine's network is closed) and headless as root
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")
RENDER_BUDGET_S = 60  #: a page's content to appear (single-file Allure 3 is ~5 MB of inlined data; a busy machine)


def need(path: Path | str | None, what: str) -> str:
    """The tool's path, or skip (fail under CI=true) naming what installs it."""
    found = str(path) if path and Path(path).exists() else None
    if found is None:
        message = f"needs {what}: run scripts/setup --for-tests"
        if is_ci():
            pytest.fail(f"CI=true and this test {message}", pytrace=False)
        pytest.skip(message)
    return found


def generate_allure3(report_dir: Path) -> Path:
    """The README's Allure 3 command, run in the report directory; returns the single HTML file."""
    subprocess.run([need(ALLURE3, "the Allure 3 CLI in tools/allure3"), "generate"], cwd=report_dir, check=True,
                   capture_output=True, text=True, timeout=180)
    return report_dir / allure_files.ALLURE3_REPORT / "index.html"


def generate_allure2(report_dir: Path) -> Path:
    """The README's Allure 2 command (multi-file, keeps history/ for the next run); returns the report."""
    need(shutil.which("java"), "a Java runtime for Allure 2")
    out = report_dir / allure_files.ALLURE2_REPORT
    subprocess.run([need(ALLURE2, "allure-commandline in tools/allure2"), "generate", "allure-results", "-o", str(out),
                    "--clean"], cwd=report_dir, check=True, capture_output=True, text=True, timeout=300,
                   env={**os.environ, "ALLURE_NO_ANALYTICS": "true"})
    return out


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on localhost (as ``allure open`` serves a report); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.binary_location = need(shutil.which("chromium"), "Chromium")
    service = Service(need(shutil.which("chromedriver"), "ChromeDriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, what: str, found: Callable[[WebDriver], Any]) -> Any:
    """Wait (RENDER_BUDGET_S) until ``found`` returns something truthy; the failure names ``what``."""
    try:
        return WebDriverWait(driver, RENDER_BUDGET_S, ignored_exceptions=(WebDriverException,)).until(found)
    except WebDriverException as exc:
        raise AssertionError(f"{what}: not seen within {RENDER_BUDGET_S} s on {driver.current_url}; page text: "
                             f"{driver.find_element(By.TAG_NAME, 'body').text[:1500]!r}") from exc


def by_testid(driver: WebDriver, testid: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f"[data-testid={testid}]")


def body_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def loaded_images(driver: WebDriver) -> list[str]:
    """The images the page shows that actually decoded (naturalWidth > 0)."""
    return list(driver.execute_script(
        "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).map(i => i.alt || i.src)"))


#: Allure 3's HTML always asks for Google's analytics tag and has no switch to stop it (allure-framework/allure3
#: issue #476; Allure 2 honours ALLURE_NO_ANALYTICS=true). The page needs nothing from it: this machine has no
#: network, so the request fails and the checks below still find everything rendered.
ALLURE3_ANALYTICS = "https://www.googletagmanager.com/gtag/js"


def remote_requests(driver: WebDriver) -> list[str]:
    """Every resource the page asked for from anywhere but the file itself, Allure 3's analytics tag aside."""
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith(("file:", "data:", "blob:", ALLURE3_ANALYTICS))]


def screenshot(driver: WebDriver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def allure3_open_test(driver: WebDriver, index: Path, title_part: str) -> str:
    """Open the single-file report from disk at the first passed or failed test whose title contains
    ``title_part`` (its id from the ``test-results.json`` Allure 3 writes beside the page: groups of the
    tree start collapsed); returns the test page's text."""
    tests = json.loads((index.parent / "test-results.json").read_text())["byId"]
    ids = [i for i, t in tests.items() if title_part in t["name"] and t["status"] in ("passed", "failed")]
    assert ids, f"no judged test titled like {title_part!r} among {len(tests)} in {index}"
    allure3_load(driver, f"{index.as_uri()}#{ids[0]}", "the test page",
                 lambda d: by_testid(d, "test-result-tab-attachments"))
    return body_text(driver)


#: Allure 3.18.0's single-file page has a loading race: its app script comes before the inlined data (~5 MB into
#: the file) and its first requests read ``globalThis.allureReportData`` at once (``reportDataUrl`` in
#: @allurereport/web-commons); when the parser has not reached the data yet, it fetches a file:// URL that does
#: not exist, and the page stays at its header or shows "Failed to fetch". Seen in two of four clean-clone CI runs
#: here (busy 2 cores); reproduced with Chromium's CPU throttling on a real report of this project: at 10x, 3 of 4
#: loads stuck, at 20x 2 of 2; with this shim 6 of 6 rendered at 10x and 20x. Defining the (empty) data object
#: before the page's scripts run makes those requests wait for ``allureReportDataReady`` as later ones do; the
#: page's own data is unchanged. Related upstream: allure-framework/allure3 issues #348, #477. README says so.
ALLURE3_DATA_SHIM = "window.allureReportData = window.allureReportData || {};"


def allure3_load(driver: WebDriver, url: str, what: str, found: Callable[[WebDriver], Any]) -> Any:
    """Open an Allure 3 single-file page at ``url`` with ALLURE3_DATA_SHIM and wait until ``found``."""
    shim = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALLURE3_DATA_SHIM})
    try:
        driver.get(url)
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": shim["identifier"]})
    return wait_for(driver, what, found)


def allure3_show_attachments(driver: WebDriver) -> list[str]:
    """On a test page: open the attachments tab, expand each attachment; returns the decoded images."""
    by_testid(driver, "test-result-tab-attachments")[0].click()
    for header in wait_for(driver, "attachment headers", lambda d: by_testid(d, "test-result-attachment-header")):
        if "png" in header.text.lower():
            header.click()
    return list(wait_for(driver, "a decoded PNG attachment", loaded_images))


def allure3_category(driver: WebDriver, index: Path, category: str) -> str:
    allure3_load(driver, index.as_uri(), "the categories tab", lambda d: by_testid(d, "nav-tab-categories"))[0].click()
    wait_for(driver, f"category {category!r}", lambda d: category in body_text(d))
    return body_text(driver)


def allure2_category(driver: WebDriver, base_url: str, category: str) -> str:
    driver.get(base_url + "index.html#categories")
    wait_for(driver, f"category {category!r} in Allure 2", lambda d: category in body_text(d))
    return body_text(driver)


def png_attachments_per_test(results_dir: Path, families: set[str]) -> dict[str, int]:
    """For every result of those features (check families) that was judged: how many PNGs it carries."""
    counts: dict[str, int] = {}
    for path in results_dir.glob("*-result.json"):
        result = json.loads(path.read_text())
        feature = next((lbl["value"] for lbl in result.get("labels", []) if lbl["name"] == "feature"), "")
        if feature not in families or result.get("status") not in ("passed", "failed"):
            continue
        counts[result["name"]] = sum(a.get("type") == "image/png" for a in _attachments(result))
    return counts


def _attachments(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from node.get("attachments", [])
    for step in node.get("steps", []):
        yield from _attachments(step)


def allure3_totals(driver: WebDriver, index: Path) -> dict[str, int]:
    """The counts Allure 3's overview shows (``Total``, ``Failed``, ``Broken``, ``Passed``, ``Skipped`` …), read from
    the page as a reader sees them."""
    allure3_load(driver, index.as_uri(), "the overview counts", lambda d: "Total" in body_text(d))
    lines = wait_for(driver, "the overview counts", lambda d: body_text(d).splitlines())
    start = lines.index("Total")
    counts: dict[str, int] = {}
    for label_, value in zip(lines[start::2], lines[start + 1::2], strict=False):
        if not value.isdigit():
            break
        counts[label_.lower()] = int(value)
    return counts


def allure3_test_status(driver: WebDriver, index: Path, name: str) -> str:
    """The status Allure 3 shows on the page of the test named exactly ``name`` (passed, failed, broken, …)."""
    tests = json.loads((index.parent / "test-results.json").read_text())["byId"]
    ids = [i for i, t in tests.items() if t["name"] == name]
    assert len(ids) == 1, f"{len(ids)} tests named {name!r} in {index}"
    element = allure3_load(driver, f"{index.as_uri()}#{ids[0]}", f"the status of {name}",
                           lambda d: by_testid(d, "test-result-status-passed") + by_testid(d, "test-result-status-failed")
                           + by_testid(d, "test-result-status-broken") + by_testid(d, "test-result-status-skipped"))[0]
    return str(element.get_attribute("data-testid")).rsplit("-", 1)[-1]


def allure2_total(driver: WebDriver, base_url: str) -> int:
    """The number of test cases Allure 2's overview shows."""
    driver.get(base_url + "index.html")
    lines = wait_for(driver, "Allure 2's test case count", lambda d: "test cases" in body_text(d)
                     and body_text(d).splitlines())
    return int(lines[lines.index("test cases") - 1])


def allure2_test_status(driver: WebDriver, base_url: str, report: Path, name: str) -> str:
    """The status Allure 2 shows on the page of the test named exactly ``name`` (its line above the name)."""
    uids = [case["uid"] for case in (json.loads(p.read_text()) for p in (report / "data" / "test-cases").glob("*.json"))
            if case["name"] == name]
    assert len(uids) == 1, f"{len(uids)} test cases named {name!r} in {report}"
    driver.get(f"{base_url}index.html#testresult/{uids[0]}")
    lines = wait_for(driver, f"the page of {name}", lambda d: name in body_text(d).splitlines()
                     and body_text(d).splitlines())
    return str(lines[lines.index(name) - 1]).lower()
