"""The browser helper's answer to Allure 3's single-file loading race, on a stand-in page in real Chromium.

The case that motivated it: clean-clone CI runs where the single-file Allure 3 report stayed at its header or
showed "Failed to fetch" (its app asked for data before the parser had reached the inlined data). The stand-in
page does what Allure 3.18.0's does: the app's first read of ``window.allureReportData`` happens before the data
script has run; without the object it gives up (Allure fetches a file that is not there), with it it waits for
``allureReportDataReady``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

from tests import report_render as render

PAGE = """<!doctype html><html><body><div id=app>Report</div><script>
setTimeout(async () => {
  if (!window.allureReportData) return;
  while (!window.allureReportDataReady) await new Promise(r => setTimeout(r, 30));
  document.getElementById("app").innerHTML =
    '<button data-testid="nav-tab-categories">' + window.allureReportData["tab"] + '</button>';
}, 0);
setTimeout(() => {
  window.allureReportDataReady = false;
  window.allureReportData = window.allureReportData || {};
  window.allureReportData["tab"] = "Categories";
  window.allureReportDataReady = true;
}, 300);
</script></body></html>"""


@pytest.fixture
def racing_page(tmp_path: Path) -> str:
    path = tmp_path / "racing.html"
    path.write_text(PAGE)
    return path.as_uri()


def tab(driver: render.WebDriver) -> list[render.WebElement]:
    return render.by_testid(driver, "nav-tab-categories")


def test_the_stand_in_page_reproduces_the_race(racing_page: str) -> None:
    with render.browser() as driver:
        driver.get(racing_page)
        with pytest.raises(TimeoutException):
            WebDriverWait(driver, 2).until(tab)
        assert render.body_text(driver) == "Report"


def test_allure3_load_renders_the_racing_page(racing_page: str) -> None:
    with render.browser() as driver:
        assert [e.text for e in render.allure3_load(driver, racing_page, "the categories tab", tab)] == ["Categories"]


def test_the_shim_is_gone_for_the_next_page(racing_page: str) -> None:
    """Only Allure 3 pages get the shim: other pages (Allure 2, conformance.html) load as they are."""
    with render.browser() as driver:
        render.allure3_load(driver, racing_page, "the categories tab", tab)
        driver.get("about:blank")
        assert driver.execute_script("return window.allureReportData === undefined")
