"""Service-annotation owner report: an annotation on the Service naming the announcer (PureLB
``purelb.io/announcing-IPv4`` = space-separated ``node,interface,ip`` entries, ``pkg/apis/purelb/v2/annotations.go``,
written in ``internal/local/announcer_local.go``; kube-vip ``kube-vip.io/vipHost`` = the node)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..kube_model import PLACEHOLDER, ServiceAnnotationReport
from . import Holders


def entry_pattern(fmt: str) -> re.Pattern[str]:
    """A regex for one entry of ``fmt`` (``{node},{interface},{ip}``): each placeholder a named group."""
    parts, last = [], 0
    for match in PLACEHOLDER.finditer(fmt):
        parts += [re.escape(fmt[last:match.start()]), f"(?P<{match.group(1)}>.+?)"]
        last = match.end()
    parts.append(re.escape(fmt[last:]))
    return re.compile("".join(parts))


def holders(service: Mapping[str, Any], report: ServiceAnnotationReport, vip: str | None = None) -> Holders:
    """The nodes the annotation names for ``vip`` (entries with another ``{ip}`` are left out); with
    ``entries: last`` only the newest (an append-only annotation keeps old winners: PureLB v0.16.6, fixed after it in
    commit bc10b11d)."""
    value = ((service.get("metadata") or {}).get("annotations") or {}).get(report.key)
    if not value:
        return Holders((), "annotation", f"no annotation {report.key}")
    pattern = entry_pattern(report.format)
    nodes: list[str] = []
    skipped = []
    for entry in (e for e in str(value).split(report.separator) if e.strip()):
        match = pattern.fullmatch(entry.strip())
        if match is None:
            skipped.append(entry.strip())
            continue
        if vip and "ip" in match.groupdict() and match.group("ip") != vip:
            continue
        nodes.append(match.group("node"))
    if report.entries == "last" and nodes:
        nodes = nodes[-1:]
    note = f"entries not in the form {report.format!r} left out: {', '.join(skipped)}" if skipped else ""
    return Holders(tuple(dict.fromkeys(nodes)), "annotation", note)
