"""Plots a person reads faster than JSON: the failover timeline of a check, the balancing histogram and the
affinity chart.

Headless (matplotlib's object-oriented API on the Agg canvas, no pyplot, no display); each function returns
PNG bytes (``*_figure`` returns the Figure, for tests). Times are seconds relative to the fault.

Sized for Allure 2's attachment pane (about 600–700 px wide): every figure is ``WIDTH_PX`` wide at ``DPI``
and no text is smaller than ``MIN_FONT_PT``, so that at 600 px a letter is still ≥ 9 px tall.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

FAILED_COLOUR = "#d62728"
NODE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
DPI = 100
WIDTH_IN = 6.6
WIDTH_PX = round(WIDTH_IN * DPI)  #: every PNG's width in pixels
MIN_FONT_PT = 8.5  #: the smallest text: 8.5 pt at 100 dpi is 11.8 px, 10.7 px when Allure 2 shows it 600 px wide
ALLURE2_PANE_PX = 600  #: the narrowest width Allure 2's attachment pane shows a PNG at


@dataclass(frozen=True)
class ProbePoint:
    """One availability probe, relative to the fault."""

    t_s: float
    ok: bool
    via: str | None
    latency_ms: float | None
    error: str | None = None


def _figure(height_in: float) -> Figure:
    """A WIDTH_PX-wide figure on the Agg canvas (its renderer measures text for placement)."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # fixed size: no "tight" box, the width stays WIDTH_PX
    return buf.getvalue()


def _title(text: str, width: int = 72) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def place_in_rows(texts: Sequence[Text], fig: Figure, row_step: float) -> None:
    """Move each label up by ``row_step`` (axes fraction) until its box overlaps no label placed before it:
    labels of marks 5 ms apart end up in different rows, never on top of each other."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg), "figures are made on the Agg canvas (_figure)"
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    placed: list[Bbox] = []
    for text in texts:
        x, y = text.get_position()
        while any(text.get_window_extent(renderer).overlaps(box) for box in placed):
            y += row_step
            text.set_position((x, y))
        placed.append(text.get_window_extent(renderer))


def failover_figure(points: Sequence[ProbePoint], marks: Mapping[str, float | None], budget_s: float,
                    title: str, timeout_ms: float) -> Figure:
    """Each probe's latency over time, coloured by the node that forwarded it; every failed probe a red cross at
    the probe timeout; the baseline before the fault shaded; the fault, the budget and every mark that happened
    as numbered vertical lines, explained in a key under the plot (numbers placed so that they never overlap)."""
    fig = _figure(7.4)
    ax, key = fig.subplots(2, 1, gridspec_kw={"height_ratios": [2.3, 1.45], "hspace": 0.28})
    fig.subplots_adjust(left=0.11, right=0.97, top=0.8, bottom=0.0)
    nodes = sorted({p.via for p in points if p.ok and p.via}) + (["unattributed"] if any(
        p.ok and not p.via for p in points) else [])
    for i, node in enumerate(nodes):
        mine = [p for p in points if p.ok and (p.via or "unattributed") == node]
        ax.scatter([p.t_s for p in mine], [max(p.latency_ms or 0.1, 0.1) for p in mine], s=7,
                   color=NODE_COLOURS[i % len(NODE_COLOURS)], label=f"answered via {node} ({len(mine)})")
    failed = [p for p in points if not p.ok]
    ax.scatter([p.t_s for p in failed], [timeout_ms] * len(failed), marker="x", s=16, color=FAILED_COLOUR,
               label=f"failed ({len(failed)})", gid="failed-probes")
    left = min([-0.3, *(p.t_s for p in points)])
    right = max([budget_s, *(p.t_s for p in points), *(t for t in marks.values() if t is not None)])
    ax.set_xlim(left - 0.02 * (right - left), right + 0.02 * (right - left))
    before = sum(p.t_s < 0 for p in points)
    ax.axvspan(left, 0.0, color="#eeeeee", zorder=0, label=f"baseline before the fault ({before} probes)")
    events = [("fault", 0.0), (f"budget {budget_s:g} s", budget_s)]
    events += [(name, t) for name, t in marks.items() if t is not None]
    events.sort(key=lambda e: e[1])
    labels = []
    for number, (_name, t) in enumerate(events, 1):
        solid = t == 0.0
        ax.axvline(t, color="black" if solid else "dimgrey", linestyle="-" if solid else ":", linewidth=1)
        labels.append(ax.text(t, 1.02, str(number), transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                              fontsize=MIN_FONT_PT, bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "dimgrey"},
                              gid=f"mark-{number}"))
    place_in_rows(labels, fig, row_step=0.075)
    ax.set_xlabel("time relative to the fault (s)", fontsize=9)
    ax.set_ylabel("probe latency (ms)", fontsize=9)
    ax.tick_params(labelsize=MIN_FONT_PT)
    ax.set_yscale("log")
    ax.set_ylim(0.1, timeout_ms * 2)
    fig.suptitle(_title(title), fontsize=9.5, y=0.995, va="top")
    key.axis("off")
    handles, names = ax.get_legend_handles_labels()
    key.legend(handles, names, loc="upper left", fontsize=MIN_FONT_PT, frameon=False, ncol=2, borderaxespad=0,
               handletextpad=0.3, columnspacing=1.0)
    lines = [f"{n}   {t * 1000:6.0f} ms   {name}" for n, (name, t) in enumerate(events, 1)]
    key.text(0.0, 0.62, "\n".join(lines), transform=key.transAxes, va="top", ha="left", fontsize=MIN_FONT_PT,
             linespacing=1.3, family="monospace")
    return fig


def failover_timeline(points: Sequence[ProbePoint], marks: Mapping[str, float | None], budget_s: float,
                      title: str, timeout_ms: float) -> bytes:
    """:func:`failover_figure` as PNG."""
    return _png(failover_figure(points, marks, budget_s, title, timeout_ms))


def balancing_histogram(counts: Mapping[str, int], backends: Sequence[str], expected_share: Mapping[str, float],
                        title: str, statistic: str, failed: int = 0) -> bytes:
    """Answers per backend against the expected share (a tick per backend; none when no share can be
    expected beforehand), answers from elsewhere and failed connections as red bars, with the statistic."""
    fig = _figure(3.9)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.78, bottom=0.14)
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
    ax.set_ylabel(f"connections (of {total})", fontsize=9)
    fig.suptitle(_title(f"{title}\n{statistic}", 80), fontsize=9.5, y=0.99, va="top")
    ax.tick_params(axis="x", labelrotation=20 if len(names) > 4 else 0, labelsize=MIN_FONT_PT)
    ax.tick_params(axis="y", labelsize=MIN_FONT_PT)
    ax.legend(loc="upper right", fontsize=MIN_FONT_PT, framealpha=0.9)
    return _png(fig)


def affinity_reading(by_client: Mapping[str, Mapping[str, int]]) -> str:
    """What the per-client counts can tell: not sticky, sticky and distinguishable from one backend for everyone,
    or indistinguishable from one backend for everyone (every client on the same backend)."""
    loose = [c for c, seen in by_client.items() if len([b for b, n in seen.items() if n]) > 1]
    if loose:
        return f"not sticky: {', '.join(loose)} reached several backends"
    used = {b for seen in by_client.values() for b, n in seen.items() if n}
    if len(by_client) > 1 and len(used) == 1:
        return (f"sticky, but every client landed on {next(iter(used))}: the same picture as one backend for "
                "everyone, so this run cannot tell affinity from it")
    return f"sticky per client: {len(by_client)} clients on {len(used)} backends"


def _matrix(ax: Axes, rows: Sequence[str], columns: Sequence[str], values: list[list[float]], title: str,
            labels: bool) -> None:
    top = max((v for row in values for v in row), default=0) or 1
    ax.imshow([[v / top for v in row] for row in values], cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=MIN_FONT_PT,
                        color="white" if v / top > 0.6 else "black")
    ax.set_xticks(range(len(columns)), columns, fontsize=MIN_FONT_PT, rotation=20 if len(columns) > 3 else 0)
    ax.set_yticks(range(len(rows)), rows if labels else [""] * len(rows), fontsize=MIN_FONT_PT)
    ax.set_title(title, fontsize=9)


def affinity_figure(by_client: Mapping[str, Mapping[str, int]], backends: Sequence[str], title: str) -> Figure:
    """Connections per client (rows) and backend (columns), measured, beside what the same clients would show
    under sticky-per-client affinity, with one backend for everyone, and with no affinity at all; a line says
    which of these the measurement can be told from. Takes any number of clients."""
    clients = list(by_client)
    columns = list(backends) + sorted({b for seen in by_client.values() for b in seen} - set(backends))
    per_client = [sum(by_client[c].values()) for c in clients]
    measured = [[float(by_client[c].get(b, 0)) for b in columns] for c in clients]
    k = max(len(backends), 1)
    sticky = [[float(n) if j == i % k else 0.0 for j in range(len(columns))] for i, n in enumerate(per_client)]
    single = [[float(n) if j == 0 else 0.0 for j in range(len(columns))] for n in per_client]
    spread = [[round(n / k, 1) if j < k else 0.0 for j in range(len(columns))] for n in per_client]
    height = 3.2 + 0.5 * max(len(clients), 2)
    fig = _figure(height)
    axes = fig.subplots(2, 2)
    fig.subplots_adjust(left=0.14, right=0.98, top=1 - 0.6 / height, bottom=0.75 / height, hspace=0.55, wspace=0.12)
    panels = (("measured", measured), ("reference: sticky per client", sticky),
              ("reference: one backend for everyone", single), ("reference: no affinity", spread))
    for n, (ax, (name, values)) in enumerate(zip(axes.flat, panels, strict=True)):
        _matrix(ax, clients, columns, values, name, labels=n % 2 == 0)
    fig.suptitle(_title(title), fontsize=9.5, y=0.995, va="top")
    fig.text(0.01, 0.01, _title("reading: " + affinity_reading(by_client), 95), fontsize=MIN_FONT_PT, va="bottom")
    return fig


def affinity_chart(by_client: Mapping[str, Mapping[str, int]], backends: Sequence[str], title: str) -> bytes:
    """:func:`affinity_figure` as PNG."""
    return _png(affinity_figure(by_client, backends, title))


def csv_rows(points: Sequence[ProbePoint]) -> str:
    """The probes as CSV (``t_s,ok,via,latency_ms,error``), one row per probe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["t_s", "ok", "via", "latency_ms", "error"])
    for p in points:
        writer.writerow([f"{p.t_s:.4f}", int(p.ok), p.via or "", "" if p.latency_ms is None else f"{p.latency_ms:.2f}",
                         p.error or ""])
    return buf.getvalue()
