"""Publishing a verdict: allure labels, steps and attachments, plus figures for the certification report.

Figures travel in ``item.user_properties`` so that they reach the controller under xdist.
"""

from __future__ import annotations

import json
from typing import Any

import allure
import pytest

from ..verdicts.result import Verdict

PROPERTY = "lbconform"        #: a verdict (check id, passed, expected, measured, category, figures)
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
    allure.attach(json.dumps(data, indent=1, default=str), name=name, attachment_type=allure.attachment_type.JSON)


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
