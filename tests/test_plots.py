"""Plots render headless and show what they claim: every probe, the failed ones apart, the marks."""

from __future__ import annotations

import io

from matplotlib.image import imread

from pytest_lbconform.report.plots import ProbePoint, balancing_histogram, csv_rows, failover_timeline

POINTS = [ProbePoint(round(i * 0.01 - 1, 2), not 0 <= i * 0.01 - 1 < 0.4, "worker" if i < 100 else "worker2",
                     1.5, None if i * 0.01 - 1 < 0 or i * 0.01 - 1 >= 0.4 else "timed out") for i in range(600)]


def _size(png: bytes) -> tuple[int, int]:
    image = imread(io.BytesIO(png), format="png")
    return image.shape[1], image.shape[0]


def test_the_failover_timeline_is_a_png_with_the_marks():
    png = failover_timeline(POINTS, {"GARP from the new owner": 0.35, "undo": 2.1, "never": None}, 1.5,
                            "node-stop on worker, svc1", timeout_ms=200)
    assert png.startswith(b"\x89PNG") and _size(png)[0] > 600


def test_the_balancing_histogram_is_a_png_and_names_unexpected_backends():
    png = balancing_histogram({"webpod1": 300, "webpod2": 290, "intruder": 10}, ["webpod1", "webpod2", "webpod3"],
                              {"webpod1": 1 / 3, "webpod2": 1 / 3, "webpod3": 1 / 3}, "random", "χ² = 1.2")
    assert png.startswith(b"\x89PNG") and _size(png)[0] > 300


def test_the_samples_are_one_csv_row_per_probe():
    rows = csv_rows(POINTS).splitlines()
    assert rows[0] == "t_s,ok,via,latency_ms,error" and len(rows) == 1 + len(POINTS)
    assert rows[101] == "0.0000,0,worker2,1.50,timed out"


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
