"""The certification page ``conformance.html``: a summary first, then every check with its verdicts and evidence.

Built from the report dict alone (the same data as ``conformance.json``, so the counts agree). Values are
rendered as text a person reads (``verdicts.text.readable``), never as Python reprs.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from .. import checks
from ..faults import FAULT_KINDS
from ..verdicts.text import readable

OUTCOMES = ("passed", "failed", "inconclusive", "skipped", "not-tested", "not-applicable")
ALLURE_REPORT = "allure-report/index.html"  #: where the README's Allure 3 command writes, relative to the page

STYLE = """
body{font-family:sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse;margin:.4em 0 1em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.passed,.success{background:#dfd}.failed,.failure{background:#fdd}.inconclusive{background:#ffd}
.skipped,.not-applicable,.not-supported,.not-tested,.partial{background:#eee}
tr.check>th{background:#e8eef7}
.label{color:#666;font-size:85%}
.evidence a{margin-right:.8em;display:inline-block}
table.checks{width:100%;table-layout:fixed}
td,th{overflow-wrap:anywhere}
p.lb{font-size:120%;font-weight:bold}
img.plot{max-width:100%;border:1px solid #ddd}
code{background:#f4f4f4;padding:0 3px}
"""

LEGEND = ("<p class='legend'>outcomes: <span class='passed'>passed</span> the LB did what the check expects; "
          "<span class='failed'>failed</span> a verdict on the LB failed; <span class='inconclusive'>inconclusive"
          "</span> the environment failed (engine, cluster, probe), no verdict on the LB; <span class='skipped'>"
          "skipped</span> an extended feature the provider does not declare; <span class='not-tested'>not-tested</span> "
          "a check the run could not or was not allowed to run (your cluster: faults only with --allow-faults), "
          "neither a pass nor a failure; <span class='not-applicable'>"
          "not-applicable</span> a profile that does not apply on the platform. "
          "A core check cannot be skipped: a missing core capability is a failure.</p>")


def esc(value: Any) -> str:
    """Escaped, readable text of any value."""
    return html.escape(readable(value))


def counts_text(counts: dict[str, int]) -> str:
    """``{"passed": 10, "failed": 0, …}`` → ``10 passed`` (zero counts left out; ``none`` when all are zero)."""
    return ", ".join(f"{n} {k}" for k in OUTCOMES if (n := counts.get(k, 0))) or "none"


def short_id(nodeid: str) -> str:
    return nodeid.rsplit("::", maxsplit=1)[-1]


def _header(report: dict[str, Any]) -> str:
    impl, env, suite = report["implementation"], report["environment"], report.get("suite", {})
    commit = suite.get("commit", "")
    commit_text = (f"commit <code>{esc(commit[:12])}</code>, checkout modified: {'yes' if suite.get('modified') else 'no'}"
                   if commit else "no commit (an installed package)")
    contact = impl.get("contact", [])
    facts = [
        ("run id", f"<code>{esc(report.get('run_id', ''))}</code>"),
        ("date", esc(report.get("date", ""))),
        ("suite", f"{esc(suite.get('name', ''))} {esc(suite.get('version', ''))}, {commit_text}"),
        ("platform", f"{esc(env.get('platform', ''))}; modes {esc(env.get('modes', ''))}; host {esc(env.get('host', ''))}"),
        *([("node images", esc(env["node_images"]))] if env.get("node_images") else []),
        *([("mode notes", esc(env["mode_notes"]))] if env.get("mode_notes") else []),
        *([("kind clusters", esc(env["kind_clusters"]))] if env.get("kind_clusters") else []),
        ("provider", f"{esc(impl.get('provider', ''))} (spec: {esc(impl.get('spec', 'built-in'))})"),
        ("organization", f"{esc(impl.get('organization', ''))} <a href='{html.escape(impl.get('url', ''))}'>"
                         f"{esc(impl.get('url', ''))}</a>" + (f" — contact: {esc(contact)}" if contact else "")),
        ("capabilities declared", esc(", ".join(report.get("capabilities", [])) or "none")),
        ("Allure report", f"<a href='{ALLURE_REPORT}'>{ALLURE_REPORT}</a> (produced by the README's Allure command, "
                          "<code>allure generate</code> run in this directory)"),
    ]
    rows = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)
    inconclusive = (f"<p class='inconclusive'>Inconclusive run: {esc(report['inconclusive_reason'])}</p>"
                    if report.get("inconclusive_reason") else "")
    version = f" · {esc(impl['version'])}" if impl.get("version") else ""
    return (f"<h1>LB conformance report</h1><p class='lb' id='lb'>LB: {esc(impl.get('project', ''))}{version}</p>"
            f"{inconclusive}<table class='facts' id='facts'>{rows}</table>")


def _tier_cell(prof: dict[str, Any], tier: str) -> str:
    t = prof[tier]
    ran_or_skipped = any(t.get(k, 0) for k in OUTCOMES)  # a core check of the registry can run as extended (a fault kind)
    if not ran_or_skipped and not any(c.profile == prof["name"] and c.tier == tier for c in checks.CHECKS.values()):
        return f"<td>—<br><small>no {tier} checks in this profile</small></td>"
    return (f"<td class='{esc(t['result'])}'>{esc(t['result'])}"
            f"<br><small>{esc(counts_text({k: t.get(k, 0) for k in OUTCOMES}))}</small></td>")


def not_tested(report: dict[str, Any]) -> list[str]:
    """What this run did not test, and why: not-applicable profiles, checks not tested (grouped by reason),
    unsupported extended features (grouped by reason), core checks that never ran."""
    items = []
    for prof in report["profiles"]:
        if prof.get("not_applicable_reason"):
            n = len(prof["checks"])
            items.append(f"<b>{esc(prof['name'])}</b> (whole profile, {n} checks): not applicable: "
                         f"{esc(prof['not_applicable_reason'])}")
        withheld: dict[str, list[str]] = {}
        for chk in prof.get("not_tested", []):
            withheld.setdefault(chk["reason"], []).append(short_id(chk["id"]))
        for reason, ids in withheld.items():
            items.append(f"<b>{esc(prof['name'])}</b> not tested, {len(ids)} checks ({esc(', '.join(ids))}): "
                         f"{esc(reason)}")
        by_reason: dict[str, list[str]] = {}
        for skipped in prof["extended"].get("unsupported", []):
            by_reason.setdefault(skipped["reason"], []).append(short_id(skipped["id"]))
        for reason, ids in by_reason.items():
            items.append(f"<b>{esc(prof['name'])}</b> extended, {len(ids)} checks ({esc(', '.join(ids))}): "
                         f"{esc(reason)}")
        if prof["core"].get("checks_not_run"):
            items.append(f"<b>{esc(prof['name'])}</b> core checks that did not run: "
                         f"{esc(', '.join(prof['core']['checks_not_run']))}")
    return items


def _summary(report: dict[str, Any]) -> str:
    rows = ["<tr><th>profile</th><th>result</th><th>core</th><th>extended</th></tr>"]
    for prof in report["profiles"]:
        rows.append(f"<tr><th><a href='#profile-{esc(prof['name'])}'>{esc(prof['name'])}</a></th>"
                    f"<td class='{esc(prof['result'].split(' ')[0])}'>{esc(prof['result'])}</td>"
                    f"{_tier_cell(prof, 'core')}{_tier_cell(prof, 'extended')}</tr>")
    missing = not_tested(report)
    listing = ("<ul id='not-tested'>" + "".join(f"<li>{item}</li>" for item in missing) + "</ul>" if missing
               else "<p id='not-tested'>Everything the registry lists was tested.</p>")
    return (f"<h2>Summary</h2><table class='summary' id='summary'>{''.join(rows)}</table>{_families(report)}"
            f"<h3>Not tested, and why</h3>{listing}")


def _families(report: dict[str, Any]) -> str:
    """Each profile's result per IP address family, side by side (core and extended checks together)."""
    names = [n for n in ("IPv4", "IPv6", "IPv4+IPv6")
             if any(n in prof.get("address_families", {}) for prof in report["profiles"])]
    if names == ["IPv4"] or not names:
        return ""
    rows = ["<tr><th>profile</th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"]
    for prof in report["profiles"]:
        cells = []
        for name in names:
            fam = prof.get("address_families", {}).get(name)
            cells.append("<td>—</td>" if fam is None else
                         f"<td class='{esc(fam['result'])}'>{esc(fam['result'])}<br>"
                         f"<small>{esc(counts_text({k: fam.get(k, 0) for k in OUTCOMES}))}</small></td>")
        rows.append(f"<tr><th>{esc(prof['name'])}</th>{''.join(cells)}</tr>")
    return ("<h3>By address family</h3><table class='summary' id='address-families'>" + "".join(rows) + "</table>")


def faults_run(report: dict[str, Any]) -> list[str]:
    """The fault kinds a failover check actually ran with (judged, or inconclusive) in this run."""
    seen: set[str] = set()
    for prof in report["profiles"]:
        for chk in prof["checks"]:
            if chk["family"] != "failover" or chk["outcome"] not in ("passed", "failed", "inconclusive"):
                continue
            kinds = {str(v["fault"]) for v in chk["verdicts"] if v.get("fault")}
            if chk.get("timeline") and chk["timeline"].get("fault"):
                kinds.add(str(chk["timeline"]["fault"]))
            if not kinds:  # inconclusive before any verdict: the fault named in the test id
                params = re.findall(r"\[(.*)\]", chk["id"])
                kinds = {k for k in FAULT_KINDS if params and re.search(rf"(^|-){re.escape(k)}(-|$)", params[0])}
            seen |= kinds
    return [k for k in FAULT_KINDS if k in seen]


def _budgets(report: dict[str, Any]) -> str:
    budgets = report.get("budgets", {})
    ran = faults_run(report)
    if not ran:
        return ""
    used, unit = budgets.get("used", {}), budgets.get("unit", "s")
    overridden, spec = budgets.get("overridden", {}), budgets.get("spec", {})

    def source(fault: str) -> str:
        if fault in overridden or "*" in overridden:
            return f"overridden (the spec says {spec.get(fault, 'none')} {unit})"
        return "the spec"

    cells = "".join(f"<tr><td>{esc(k)}</td><td>{esc(used.get(k, 'none'))} {esc(unit)}</td><td>{esc(source(k))}</td></tr>"
                    for k in ran)
    return ("<h2>Failover budgets</h2><p>For the fault kinds that ran.</p><table id='budgets'>"
            f"<tr><th>fault</th><th>budget</th><th>source</th></tr>{cells}</table>")


def evidence_links(chk: dict[str, Any]) -> str:
    items = chk.get("evidence", [])
    if not items:
        return "<span class='evidence'>none recorded</span>"
    links = "".join(f"<a href='{html.escape(urllib.parse.quote(e['path']))}' data-kind='{esc(e['kind'])}'>"
                    f"{esc(e['name'])}</a>" for e in items)
    return f"<span class='evidence'>{links}</span>"


def garp_table(frames: Iterable[dict[str, Any]], since: str = "the fault") -> str:
    """The gratuitous ARP frames of a check as a table (time, op, MACs, node, credited and why)."""
    rows = [f"<tr><th>t (ms after {esc(since)})</th><th>op</th><th>ARP sender MAC</th><th>Ethernet source</th>"
            "<th>node</th><th>credited</th><th>why</th></tr>"]
    for f in frames:
        credited = f.get("credited")
        rows.append(f"<tr><td>{esc(f.get('t_ms'))}</td><td>{esc(f.get('op'))}</td><td>{esc(f.get('arp_sender_mac'))}</td>"
                    f"<td>{esc(f.get('ether_src'))}</td><td>{esc(f.get('node') or 'not a node')}</td>"
                    f"<td>{'—' if credited is None else esc(credited)}</td><td>{esc(f.get('why', ''))}</td></tr>")
    return f"<table class='garp'>{''.join(rows)}</table>"


def _check_block(chk: dict[str, Any]) -> list[str]:
    """A check's header row (id, registry checks, tier, outcome, evidence) and one labelled row per verdict."""
    ids = chk.get("checks") or sorted({v["check"] for v in chk["verdicts"]})
    rows = [f"<tr class='check' id='{esc(short_id(chk['id']))}'><th colspan='4'><span title='{esc(chk['id'])}'>"
            f"{esc(short_id(chk['id']))}</span> <span class='label'>checks</span> {esc(', '.join(ids))} "
            f"<span class='label'>tier</span> {esc(chk['tier'])} <span class='label'>outcome</span> "
            f"<span class='{esc(chk['outcome'])}'>{esc(chk['outcome'])}</span><br>"
            f"<span class='label'>evidence</span> {evidence_links(chk)}</th></tr>"]
    if not chk["verdicts"]:
        reason = chk["message"] or "no verdict was recorded"
        rows.append(f"<tr class='{esc(chk['outcome'])}'><td colspan='4'><span class='label'>reason</span> "
                    f"{esc(reason)}</td></tr>")
    for v in chk["verdicts"]:
        state = "passed" if v.get("passed") else "failed"
        category = f" <span class='label'>category</span> {esc(v['category'])}" if v.get("category") else ""
        rows.append(f"<tr class='verdict'><td>{esc(v['check'])}</td><td class='{state}'>{state}{category}</td>"
                    f"<td><span class='label'>expected</span> {esc(v.get('expected', ''))}</td>"
                    f"<td><span class='label'>measured</span> {esc(v.get('measured', ''))}</td></tr>")
    timeline = chk.get("timeline") or {}
    if timeline.get("garp_frames") is not None:
        since = "the fault" if "fault" in timeline else timeline.get("t0", "the start")
        rows.append(f"<tr><td colspan='4'><span class='label'>gratuitous ARP frames</span> "
                    f"{garp_table(timeline['garp_frames'], since)}</td></tr>")
    for plot in chk.get("plots", []):
        rows.append(f"<tr class='plot'><td colspan='4'><img class='plot' src='{html.escape(urllib.parse.quote(plot))}' "
                    f"alt='plot of {esc(chk['id'])}'></td></tr>")
    return rows


def _profile(prof: dict[str, Any]) -> list[str]:
    tally = {k: prof["core"].get(k, 0) + prof["extended"].get(k, 0) for k in OUTCOMES}
    tally["not-applicable"] = sum(c["outcome"] == "not-applicable" for c in prof["checks"])
    out = [f"<h2 id='profile-{esc(prof['name'])}'>{esc(prof['name'])}: {esc(prof['result'])}</h2>"
           f"<p>{esc(prof['description'])} <small>({esc(counts_text(tally))})</small></p>"]
    if prof.get("not_applicable_reason"):
        out.append(f"<p>Not applicable: {esc(prof['not_applicable_reason'])}</p>")
    if prof.get("inconclusive_reason"):
        out.append(f"<p>Inconclusive: {esc(prof['inconclusive_reason'])}</p>")
    families: dict[str, list[dict[str, Any]]] = {}
    for chk in prof["checks"]:
        families.setdefault(chk.get("family", ""), []).append(chk)
    for family, members in families.items():
        counts = {k: sum(c["outcome"] == k for c in members) for k in OUTCOMES}
        out.append(f"<h3 class='family'>{esc(checks.FAMILIES.get(family, family))} "
                   f"<small>({esc(counts_text(counts))})</small></h3>")
        out.append("<table class='checks'><colgroup><col style='width:15%'><col style='width:8%'>"
                   "<col style='width:38%'><col style='width:39%'></colgroup>"
                   "<tr><th>check</th><th>result</th><th>expected</th><th>measured</th></tr>")
        for chk in members:
            out.extend(_check_block(chk))
        out.append("</table>")
    return out


def render(report: dict[str, Any]) -> str:
    """The whole page: header, summary, not tested and why, legend, budgets, then per profile its checks."""
    body = [_header(report), _summary(report), LEGEND, _budgets(report)]
    for prof in report["profiles"]:
        body.extend(_profile(prof))
    return ("<!doctype html><html lang='en'><meta charset='utf-8'><title>LB conformance report</title>"
            f"<style>{STYLE}</style><body>{''.join(body)}</body></html>")
