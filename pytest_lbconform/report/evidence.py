"""Publishing a verdict: allure labels, steps and attachments, plus figures for the certification report.

Figures travel in ``item.user_properties`` so that they reach the controller under xdist.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import allure
import pytest

from ..verdicts.result import Verdict
from . import files
from .frames import pcap_text

PROPERTY = "lbconform"        #: a verdict (check id, passed, expected, measured, category, figures)
EVIDENCE = "lbconform_evidence"  #: an evidence file of the check: {"name", "path" (relative to the report dir), "kind"}
TIMELINE = "lbconform_timeline"  #: the check's timeline (failover: ``Timeline.figures()``), once per check
META = "lbconform_meta"       #: what the plugin decided at collection: checks, profile, tier, capabilities
NOT_TESTED = "lbconform_not_tested"  #: why a check was not tested (existing: not allowed, or not possible there)
EVIDENCE_DIR = "evidence"     #: ``<report dir>/evidence/<test slug>/<file>``

#: evidence kinds (the file name's extension) and how Allure shows them
KINDS = {"pcap": allure.attachment_type.PCAP, "csv": allure.attachment_type.CSV, "json": allure.attachment_type.JSON,
         "png": allure.attachment_type.PNG, "txt": allure.attachment_type.TEXT}


#: parameters that name *which* result this is (part of Allure's test identity): two results that differ in one of
#: these are two tests, never a retry of each other. Everything else is shown but excluded (a VIP or a victim
#: node may differ between runs of the same check, and must not break its history).
IDENTITY_PARAMS = ("provider", "platform", "mode", "family")
#: pytest's own parameter of the ``lb`` fixture (it carries the data-plane mode); never overwritten here
PYTEST_LB_PARAM = "lb"


def label(request: pytest.FixtureRequest, feature: str, story: str, severity: str = "critical", **params: str) -> None:
    """Allure labels of one check: epic LB, the check family, the story and parameters.

    ``provider``, ``platform`` and ``mode`` are part of the result's identity (Allure 2 and 3 fold results
    with equal identity into one test with retries: with the mode excluded, a check's random-mode result
    was shown as a "retry" of its rr result, hiding one of them)."""
    if PYTEST_LB_PARAM in params:
        raise ValueError(f"label(): '{PYTEST_LB_PARAM}' is pytest's parameter of the lb fixture (the mode); "
                         "pass provider=… instead")
    allure.dynamic.epic("LB")
    allure.dynamic.feature(feature)
    allure.dynamic.story(story)
    allure.dynamic.severity(getattr(allure.severity_level, severity.upper()))
    for name, value in params.items():
        allure.dynamic.parameter(name, value, excluded=name not in IDENTITY_PARAMS)


def json_text(data: Any) -> str:
    """JSON as UTF-8 (χ² stays χ², not \\u03c7), indented."""
    return json.dumps(data, indent=1, default=str, ensure_ascii=False)


def attach_json(name: str, data: Any) -> None:
    """JSON in Allure only (set-up facts, a verdict's record); evidence a reader needs goes through attach_file."""
    allure.attach(json_text(data), name=name, attachment_type=allure.attachment_type.JSON)


def slug_of(nodeid: str) -> str:
    """``suites/test_failover.py::test_failover[lab-rr-node-stop-svc1]`` → ``test_failover_lab-rr-node-stop-svc1``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:150] or "test"


def file_name(name: str) -> str:
    """A human evidence name as a file name: ``arp who-has 172.28.0.243.pcap`` → ``arp_who-has_172.28.0.243.pcap``."""
    clean = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_.") or "evidence"
    stem, dot, suffix = clean.rpartition(".")
    if not dot or not 0 < len(suffix) <= 8:  # no extension: shorten the whole name
        return clean[:120]
    return f"{stem[:120 - len(suffix) - 1].rstrip('_.')}.{suffix}"  # long names keep their extension (the kind)


def attach_file(request: pytest.FixtureRequest, report_dir: Path, name: str, data: bytes | str,
                kind: str | None = None) -> str:
    """Evidence of the check: ``data`` attached to Allure as ``name`` and written to
    ``<report_dir>/evidence/<test slug>/<name as a file name>``, recorded for the certification page.

    ``kind`` (pcap, csv, json, png, txt) defaults to ``name``'s extension. Returns the path relative to
    ``report_dir``.
    """
    kind = kind or name.rsplit(".", 1)[-1].lower()
    if kind not in KINDS:
        raise ValueError(f"evidence {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    body = data.encode("utf-8") if isinstance(data, str) else data
    allure.attach(body, name=name, attachment_type=KINDS[kind])
    folder = files.make_dir(report_dir / EVIDENCE_DIR / slug_of(request.node.nodeid))
    target = folder / file_name(name)
    files.replace_bytes(target, body)
    relative = target.relative_to(report_dir).as_posix()
    request.node.user_properties.append((EVIDENCE, {"name": name, "path": relative, "kind": kind}))
    return relative


def record_timeline(request: pytest.FixtureRequest, timeline: dict[str, Any], name: str = "") -> None:
    """Keep the check's timeline once (not in each verdict) for the certification report (``CheckResult.timeline``,
    ``timeline`` of the check in conformance.json); with ``name`` also as an Allure JSON attachment (or attach it as
    evidence with :func:`attach_file`). A second call in one test merges its keys into the first (e.g.
    ``garp_frames`` added to a failover timeline)."""
    clean = json.loads(json_text(timeline))
    for key, value in request.node.user_properties:
        if key == TIMELINE:
            value.update(clean)
            break
    else:
        request.node.user_properties.append((TIMELINE, clean))
    if name:
        attach_json(name, clean)


def burst_summary(samples: Any) -> dict[str, Any]:
    """A burst as a person reads it: answers per source address the backends saw, per backend, failures per error."""
    samples = list(samples)
    return {"connections": len(samples), "ok": sum(s.ok for s in samples),
            "failed": dict(Counter(s.error or "failed" for s in samples if not s.ok)),
            "source addresses seen by the backends": dict(Counter(s.remote for s in samples if s.ok)),
            "answers per backend": dict(Counter(s.backend for s in samples if s.ok))}


def burst_csv(samples: Any) -> str:
    """Every sample of a burst (time from the first, latency in ms), one row each."""
    samples = list(samples)
    t0 = min((s.t for s in samples), default=0.0)
    rows = ["t_s,ok,backend,source_seen,latency_ms,client_port,error"]
    for s in sorted(samples, key=lambda s: s.t):
        latency = "" if s.latency is None else f"{s.latency * 1000:.2f}"
        error = (s.error or "").replace(",", ";").replace("\n", " ")
        rows.append(f"{s.t - t0:.4f},{int(s.ok)},{s.backend or ''},{s.remote or ''},{latency},{s.sport or ''},{error}")
    return "\n".join(rows) + "\n"


def attach_burst(request: pytest.FixtureRequest, report_dir: Path, name: str, samples: Any) -> None:
    """A burst of connections as evidence: ``<name> summary.json`` and ``<name> (t in s from the first).csv``."""
    samples = list(samples)
    attach_file(request, report_dir, f"{name} summary.json", json_text(burst_summary(samples)))
    attach_file(request, report_dir, f"{name} (t in s from the first).csv", burst_csv(samples))


def attach_plot(request: pytest.FixtureRequest, report_dir: Path, name: str, png: bytes, csv: str | None = None) -> None:
    """A plot as evidence (``<name>.png``, shown on the certification page) and its samples (``<name> samples.csv``)."""
    attach_file(request, report_dir, f"{name}.png", png)
    if csv is not None:
        attach_file(request, report_dir, f"{name} samples.csv", csv)


def attach_pcap(request: pytest.FixtureRequest, report_dir: Path, name: str, pcap: bytes, t0: float | None = None,
                t0_name: str = "the first frame") -> None:
    """A capture as evidence: ``<name>.pcap`` (for Wireshark) and ``<name> (frames).txt`` (one line per frame,
    times after ``t0``); nothing when nothing was captured."""
    if pcap:
        attach_file(request, report_dir, f"{name}.pcap", pcap)
        attach_file(request, report_dir, f"{name} (frames).txt", pcap_text(pcap, t0, t0_name))


def attach_setup(lb: Any) -> None:
    """The environment a mode's checks run in: topology (nodes, clients, addresses, MACs), services and their
    VIPs, backends, and what the provider can show of its config and data-plane rules."""
    topo = lb.topology
    attach_json(f"set-up {lb.mode}: topology, services, backends", {
        "cluster": topo.cluster, "network": topo.network, "subnet": str(topo.subnet), "mode": lb.mode,
        "nodes": [{"name": n.name, "role": n.role, "ip": n.ip, "mac": n.mac} for n in topo.nodes],
        "clients": [{"name": c.name, "ip": c.ip, "mac": c.mac} for c in topo.clients],
        "services": [vars(s) for s in lb.services], "backends": [vars(b) for b in lb.backends]})
    _attach_texts(f"set-up {lb.mode}", lb.provider, failed=False)


def attach_failure(lb: Any) -> None:
    """After a failed check: the provider's config, rules, addresses, agent logs and neighbour tables now."""
    _attach_texts("after the failure", lb.provider, failed=True)


def _attach_texts(prefix: str, provider: Any, failed: bool) -> None:
    collect = getattr(provider, "evidence", None)
    if collect is None:
        return
    try:
        texts = collect(failed=failed)
    except Exception as exc:  # evidence is best effort; it must not turn a verdict into an error
        texts = {"evidence": f"(not collected: {type(exc).__name__}: {exc})"}
    for name, text in texts.items():
        allure.attach(text, name=f"{prefix}: {name}", attachment_type=allure.attachment_type.TEXT)


def record(request: pytest.FixtureRequest, verdict: Verdict, name: str = "", **context: Any) -> None:
    """Keep ``verdict``'s figures for the certification report and attach them to allure (as
    ``name``, default "<check> verdict")."""
    entry = {"check": verdict.check, "passed": verdict.passed, "expected": verdict.expected,
             "measured": verdict.measured, "category": verdict.category, "figures": verdict.figures, **context}
    request.node.user_properties.append((PROPERTY, json.loads(json.dumps(entry, default=str))))
    title = (f"verdict {verdict.check}: {'passed' if verdict.passed else 'FAILED'} — expected: {verdict.expected} — "
             f"measured: {verdict.measured}")
    try:  # a step per verdict; a failed verdict is a failed step (the test fails later, after every verdict)
        with allure.step(title):
            attach_json(name or f"{verdict.check} verdict", entry)
            if not verdict.passed:
                raise _FailedVerdict(verdict.message)
    except _FailedVerdict:
        pass


class _FailedVerdict(AssertionError):
    """Raised inside a verdict's step so that Allure marks the step failed (AssertionError: "failed")."""


def check(request: pytest.FixtureRequest, verdict: Verdict, **context: Any) -> None:
    """Record ``verdict`` and fail the test with its message when it did not pass."""
    record(request, verdict, **context)
    if not verdict.passed:
        pytest.fail(verdict.message + " (evidence: allure attachments of this test)", pytrace=False)


def check_all(request: pytest.FixtureRequest, verdicts: list[Verdict], **context: Any) -> None:
    """Record every verdict of a check once; fail with the first one that did not pass."""
    total = Counter(v.check for v in verdicts)
    seen: Counter[str] = Counter()
    for verdict in verdicts:  # a check judged twice in one test (ARP during the fault, after it) is numbered
        seen[verdict.check] += 1
        name = f"{verdict.check} verdict" + (f" ({seen[verdict.check]} of {total[verdict.check]})"
                                             if total[verdict.check] > 1 else "")
        record(request, verdict, name, **context)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        more = f" (+{len(failed) - 1} more failed verdicts)" if len(failed) > 1 else ""
        pytest.fail(failed[0].message + more + " (evidence: allure attachments of this test)", pytrace=False)
