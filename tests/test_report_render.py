"""The browser helper's handling of Allure 3's data-loading race, on stand-in pages in real Chromium.

The case that motivated it: a clean-clone CI run where the single-file Allure 3 report showed "Failed to fetch"
instead of the test page (its app asked for data before the inlined data was installed); a reload showed it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import report_render as render

#: shows Allure 3's error on the first ``fail_loads`` loads (counted in sessionStorage, which survives a reload),
#: then the element the helper waits for
PAGE = """<!doctype html><html><body><div id=app></div><script>
const loads = Number(sessionStorage.getItem("loads") || 0) + 1;
sessionStorage.setItem("loads", String(loads));
setTimeout(() => {
  document.getElementById("app").innerHTML = loads <= FAIL_LOADS
    ? "Report<br>Failed to fetch" : '<button data-testid="nav-tab-categories">Categories</button>';
}, 50);
</script></body></html>"""


def page(tmp_path: Path, fail_loads: int) -> str:
    path = tmp_path / f"fails-{fail_loads}.html"
    path.write_text(PAGE.replace("FAIL_LOADS", str(fail_loads)))
    return path.as_uri()


def ready(driver: render.WebDriver) -> list[render.WebElement]:
    return render.by_testid(driver, "nav-tab-categories")


def test_a_page_that_fails_once_is_reloaded_and_the_failure_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with render.browser() as driver:
        shown = render.allure3_load(driver, page(tmp_path, 1), "the categories tab", ready)
        assert [e.text for e in shown] == ["Categories"]
    assert "load 1/3" in capsys.readouterr().out


def test_a_page_that_fails_on_every_load_fails_the_check(tmp_path: Path) -> None:
    with render.browser() as driver, pytest.raises(AssertionError, match="loading error on each of 3 loads"):
        render.allure3_load(driver, page(tmp_path, render.ALLURE3_LOADS), "the categories tab", ready)


def test_a_page_that_renders_at_once_is_loaded_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with render.browser() as driver:
        render.allure3_load(driver, page(tmp_path, 0), "the categories tab", ready)
    assert "load 1/3" not in capsys.readouterr().out
