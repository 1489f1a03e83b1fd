"""Plots a person reads faster than JSON: the failover timeline of a check, and the balancing histogram.

Headless (matplotlib's object-oriented API on the Agg canvas, no pyplot, no display); each function
returns PNG bytes. Times are seconds relative to the fault.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

FAILED_COLOUR = "#d62728"
NODE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")


@dataclass(frozen=True)
class ProbePoint:
    """One availability probe, relative to the fault."""

    t_s: float
    ok: bool
    via: str | None
    latency_ms: float | None
    error: str | None = None


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def failover_timeline(points: Sequence[ProbePoint], marks: Mapping[str, float | None], budget_s: float,
                      title: str, timeout_ms: float) -> bytes:
    """Each probe's latency over time, coloured by the node that forwarded it; failed probes as red crosses
    at the probe timeout; vertical lines for the fault, the budget and every mark that happened."""
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot()
    nodes = sorted({p.via for p in points if p.ok and p.via}) + (["unattributed"] if any(
        p.ok and not p.via for p in points) else [])
    for i, node in enumerate(nodes):
        mine = [p for p in points if p.ok and (p.via or "unattributed") == node]
        ax.scatter([p.t_s for p in mine], [max(p.latency_ms or 0.1, 0.1) for p in mine], s=6,
                   color=NODE_COLOURS[i % len(NODE_COLOURS)], label=f"answered via {node} ({len(mine)})")
    failed = [p for p in points if not p.ok]
    if failed:
        ax.scatter([p.t_s for p in failed], [timeout_ms] * len(failed), marker="x", s=14, color=FAILED_COLOUR,
                   label=f"failed ({len(failed)})")
    ax.axvline(0.0, color="black", linewidth=1.2)
    ax.axvline(budget_s, color="black", linestyle="--", linewidth=1)
    ax.text(0.0, 1.01, " fault", transform=ax.get_xaxis_transform(), fontsize=8)
    ax.text(budget_s, 1.01, f" budget {budget_s:g} s", transform=ax.get_xaxis_transform(), fontsize=8)
    for i, (name, t) in enumerate((n, t) for n, t in marks.items() if t is not None):
        ax.axvline(t, color="grey", linestyle=":", linewidth=1)
        ax.text(t, 0.97 - 0.07 * (i % 6), f" {name}", transform=ax.get_xaxis_transform(), fontsize=7, color="dimgrey",
                va="top")
    ax.set_xlabel("time relative to the fault (s)")
    ax.set_ylabel("probe latency (ms)")
    ax.set_yscale("log")
    ax.set_ylim(0.1, timeout_ms * 2)
    ax.set_title(title, fontsize=10, pad=16)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def balancing_histogram(counts: Mapping[str, int], backends: Sequence[str], expected_share: Mapping[str, float],
                        title: str, statistic: str, failed: int = 0) -> bytes:
    """Answers per backend against the expected share (a tick per backend; none when no share can be
    expected beforehand), answers from elsewhere and failed connections as red bars, with the statistic."""
    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.add_subplot()
    total = sum(counts.values()) + failed
    names = list(backends) + sorted(set(counts) - set(backends))
    heights = [counts.get(n, 0) for n in names]
    colours = [NODE_COLOURS[0] if n in backends else FAILED_COLOUR for n in names]
    if failed:
        names, heights, colours = [*names, "failed"], [*heights, failed], [*colours, FAILED_COLOUR]
    ax.bar(names, heights, color=colours, label="answers")
    if expected_share:
        ax.scatter(names, [expected_share.get(n, 0.0) * total for n in names], marker="_", s=900, color="black",
                   label="expected")
    ax.set_ylabel(f"connections (of {total})")
    ax.set_title(f"{title}\n{statistic}", fontsize=10)
    ax.tick_params(axis="x", labelrotation=20 if len(names) > 4 else 0, labelsize=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _png(fig)


def csv_rows(points: Sequence[ProbePoint]) -> str:
    """The probes as CSV (``t_s,ok,via,latency_ms,error``), one row per probe."""
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["t_s", "ok", "via", "latency_ms", "error"])
    for p in points:
        writer.writerow([f"{p.t_s:.4f}", int(p.ok), p.via or "", "" if p.latency_ms is None else f"{p.latency_ms:.2f}",
                         p.error or ""])
    return buf.getvalue()
