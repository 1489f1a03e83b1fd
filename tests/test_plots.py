"""Plots render headless and show what they claim: every probe, the failed ones apart, the baseline before the
fault, marks whose labels never overlap, text legible at Allure 2's pane width; the affinity chart tells
stickiness from one backend for everyone."""

from __future__ import annotations

import io

import pytest
from matplotlib.image import imread

from pytest_lbconform.report import plots
from pytest_lbconform.report.plots import (
    ProbePoint,
    affinity_chart,
    affinity_figure,
    affinity_reading,
    balancing_histogram,
    csv_rows,
    failover_figure,
    failover_timeline,
)

#: 0.5 s of baseline, 0.4 s without answers after the fault, then the new owner
POINTS = [ProbePoint(round(i * 0.01 - 0.5, 2), not 0 <= i * 0.01 - 0.5 < 0.4, "worker" if i < 50 else "worker2",
                     1.5, None if i * 0.01 - 0.5 < 0 or i * 0.01 - 0.5 >= 0.4 else "timed out") for i in range(600)]
MARKS = {"GARP from the new owner": 0.35, "neighbour entry flips": 0.355, "first answer via the new owner": 0.36,
         "undo": 2.1, "never": None}


def _size(png: bytes) -> tuple[int, int]:
    image = imread(io.BytesIO(png), format="png")
    return image.shape[1], image.shape[0]


def test_the_failover_timeline_is_a_png_sized_for_allure2s_pane():
    png = failover_timeline(POINTS, MARKS, 1.5, "node-stop on worker, svc1", timeout_ms=200)
    assert png.startswith(b"\x89PNG") and _size(png)[0] == plots.WIDTH_PX
    assert 600 <= plots.WIDTH_PX <= 700  # Allure 2 shows it (nearly) at its own size


@pytest.mark.parametrize("figure", [
    lambda: failover_figure(POINTS, MARKS, 1.5, "node-stop on worker, svc1", timeout_ms=200),
    lambda: affinity_figure({"mypc": {"webpod1": 100}, "mypc2": {"webpod2": 100}}, ["webpod1", "webpod2"], "affinity"),
])
def test_every_text_is_at_least_9_px_tall_at_allure2s_pane_width(figure):
    """A point is dpi/72 px on the PNG; Allure 2 scales the PNG to its pane (600 px at the narrowest)."""
    fig = figure()
    fig.canvas.draw()  # tick labels get their texts when drawn
    scale = plots.ALLURE2_PANE_PX / (fig.get_figwidth() * fig.dpi)
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text().strip()]
    assert sizes and min(sizes) * fig.dpi / 72 * scale >= 9, min(sizes)


def test_mark_labels_five_ms_apart_never_overlap():
    fig = failover_figure(POINTS, {"a": 0.300, "b": 0.305, "c": 0.310, "d": 0.315}, 1.5, "t", timeout_ms=200)
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.findobj(lambda a: str(a.get_gid()).startswith("mark-"))]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert len(boxes) == 6  # fault, budget and the four marks
    assert not [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]


def test_the_baseline_before_the_fault_is_shown():
    ax = failover_figure(POINTS, MARKS, 1.5, "t", timeout_ms=200).axes[0]
    assert ax.get_xlim()[0] < -0.45  # the 0.5 s recorded before the fault
    labels = ax.get_legend_handles_labels()[1]
    assert "baseline before the fault (50 probes)" in labels
    short = failover_figure([p for p in POINTS if p.t_s >= 0], MARKS, 1.5, "t", timeout_ms=200).axes[0]
    assert short.get_xlim()[0] < -0.25  # the axis starts before the fault even without a baseline


def test_every_failed_probe_is_drawn():
    fig = failover_figure(POINTS, MARKS, 1.5, "t", timeout_ms=200)
    (crosses,) = fig.findobj(lambda a: a.get_gid() == "failed-probes")
    assert len(crosses.get_offsets()) == sum(not p.ok for p in POINTS) == 40
    assert "failed (40)" in fig.axes[0].get_legend_handles_labels()[1]


def test_the_balancing_histogram_is_a_png_and_names_unexpected_backends():
    png = balancing_histogram({"webpod1": 300, "webpod2": 290, "intruder": 10}, ["webpod1", "webpod2", "webpod3"],
                              {"webpod1": 1 / 3, "webpod2": 1 / 3, "webpod3": 1 / 3}, "random", "χ² = 1.2")
    assert png.startswith(b"\x89PNG") and _size(png)[0] == plots.WIDTH_PX


def test_the_samples_are_one_csv_row_per_probe():
    rows = csv_rows(POINTS).splitlines()
    assert rows[0] == "t_s,ok,via,latency_ms,error" and len(rows) == 1 + len(POINTS)
    assert rows[51] == "0.0000,0,worker2,1.50,timed out"


def _has_red(png: bytes) -> bool:
    image = imread(io.BytesIO(png), format="png")
    red = (abs(image[..., 0] - 0xD6 / 255) < 0.02) & (abs(image[..., 1] - 0x27 / 255) < 0.02) \
        & (abs(image[..., 2] - 0x28 / 255) < 0.02)
    return bool(red.sum() > 200)


def test_failed_connections_are_a_red_bar_and_no_expected_share_draws_no_ticks():
    backends = ["webpod1", "webpod2"]
    clean = balancing_histogram({"webpod1": 100, "webpod2": 100}, backends, {}, "Local", "only local backends")
    lossy = balancing_histogram({"webpod1": 100, "webpod2": 100}, backends, {}, "Local", "only local backends",
                                failed=60)
    assert not _has_red(clean) and _has_red(lossy)


def test_the_failover_plot_shows_failed_probes_in_red():
    clean = failover_timeline([p for p in POINTS if p.ok], MARKS, 1.5, "t", timeout_ms=200)
    lossy = failover_timeline(POINTS, MARKS, 1.5, "t", timeout_ms=200)
    assert not _has_red(clean) and _has_red(lossy)


def test_the_affinity_chart_tells_stickiness_from_one_backend_for_everyone():
    everyone = {"mypc": {"webpod1": 100}, "mypc2": {"webpod1": 100}}
    assert "cannot tell affinity" in affinity_reading(everyone)
    assert affinity_reading({"mypc": {"webpod1": 100}, "mypc2": {"webpod3": 100}}) == \
        "sticky per client: 2 clients on 2 backends"
    assert affinity_reading({"mypc": {"webpod1": 50, "webpod2": 50}}).startswith("not sticky: mypc")
    fig = affinity_figure(everyone, ["webpod1", "webpod2", "webpod3"], "ClientIP affinity")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["measured", "reference: sticky per client", "reference: one backend for everyone",
                      "reference: no affinity"]
    assert any("cannot tell affinity" in t.get_text() for t in fig.texts)


def test_the_affinity_chart_takes_any_number_of_clients():
    clients = {f"client{i}": {f"webpod{i % 3 + 1}": 40} for i in range(7)}
    fig = affinity_figure(clients, ["webpod1", "webpod2", "webpod3"], "seven clients")
    measured = fig.axes[0]
    assert [t.get_text() for t in measured.get_yticklabels()] == list(clients)
    assert len(measured.texts) == 7  # one count per client
    assert _size(affinity_chart(clients, ["webpod1", "webpod2", "webpod3"], "seven clients"))[0] == plots.WIDTH_PX
