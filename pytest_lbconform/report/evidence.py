"""Publishing a verdict: allure labels, steps and attachments, plus figures for the certification report.

Figures travel in ``item.user_properties`` so that they reach the controller under xdist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import allure
import pytest

from ..verdicts.result import Verdict
from . import files

PROPERTY = "lbconform"        #: a verdict (check id, passed, expected, measured, category, figures)
PLOT = "lbconform_plot"       #: a plot of the check, relative to the report directory
META = "lbconform_meta"       #: what the plugin decided at collection: checks, profile, tier, capabilities


def label(request: pytest.FixtureRequest, feature: str, story: str, severity: str = "critical", **params: str) -> None:
    """Allure labels of one check: epic LB, the check family, the story and parameters."""
    allure.dynamic.epic("LB")
    allure.dynamic.feature(feature)
    allure.dynamic.story(story)
    allure.dynamic.severity(getattr(allure.severity_level, severity.upper()))
    for name, value in params.items():
        allure.dynamic.parameter(name, value)


def attach_json(name: str, data: Any) -> None:
    """JSON as UTF-8 (χ² stays χ², not \\u03c7)."""
    allure.attach(json.dumps(data, indent=1, default=str, ensure_ascii=False), name=name,
                  attachment_type=allure.attachment_type.JSON)


def attach_plot(request: pytest.FixtureRequest, report_dir: Path, name: str, png: bytes, csv: str | None = None) -> None:
    """A plot (PNG) in allure and in ``<report_dir>/plots/`` for the certification page; its samples as CSV."""
    allure.attach(png, name=f"{name}.png", attachment_type=allure.attachment_type.PNG)
    if csv is not None:
        allure.attach(csv, name=f"{name} samples.csv", attachment_type=allure.attachment_type.CSV)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.nodeid.split("::", 1)[-1]).strip("_")[:150]
    target = report_dir / "plots"
    target.mkdir(parents=True, exist_ok=True)
    files.replace_bytes(target / f"{slug}.png", png)
    request.node.user_properties.append((PLOT, f"plots/{slug}.png"))


def attach_pcap(name: str, pcap: bytes) -> None:
    if pcap:
        allure.attach(pcap, name=name, attachment_type=allure.attachment_type.PCAP)


def record(request: pytest.FixtureRequest, verdict: Verdict, **context: Any) -> None:
    """Keep ``verdict``'s figures for the certification report and attach them to allure."""
    entry = {"check": verdict.check, "passed": verdict.passed, "expected": verdict.expected,
             "measured": verdict.measured, "category": verdict.category, "figures": verdict.figures, **context}
    request.node.user_properties.append((PROPERTY, json.loads(json.dumps(entry, default=str))))
    attach_json(f"{verdict.check} verdict", entry)


def check(request: pytest.FixtureRequest, verdict: Verdict, **context: Any) -> None:
    """Record ``verdict`` and fail the test with its message when it did not pass."""
    record(request, verdict, **context)
    if not verdict.passed:
        pytest.fail(verdict.message + " (evidence: allure attachments of this test)", pytrace=False)


def check_all(request: pytest.FixtureRequest, verdicts: list[Verdict], **context: Any) -> None:
    """Record every verdict of a check once; fail with the first one that did not pass."""
    for verdict in verdicts:
        record(request, verdict, **context)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        more = f" (+{len(failed) - 1} more failed verdicts)" if len(failed) > 1 else ""
        pytest.fail(failed[0].message + more + " (evidence: allure attachments of this test)", pytrace=False)
