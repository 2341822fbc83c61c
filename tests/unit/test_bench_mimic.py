import numpy as np
import pytest

pytest.importorskip("torch")

from bench.mimic import FLOOR, floor_of, median_interval, within_tolerance  # noqa: E402


def test_within_25_percent_of_the_tracked_spread_or_of_the_floor():
    assert within_tolerance(10.0, 12.4, floor=1.0) and not within_tolerance(10.0, 12.6, floor=1.0)
    assert not within_tolerance(9.2, 6.8, floor=1.0)            # 0.74: off, whatever the floor
    # a channel that hardly moves (0.28 degrees): judged on a quarter of the floor, not dropped
    assert within_tolerance(0.28, 0.36, floor=1.0) and not within_tolerance(0.28, 0.36, floor=0.0)
    assert not within_tolerance(0.28, 0.60, floor=1.0)          # 0.32 degrees apart: still off
    assert not within_tolerance(0.136, 0.425, floor=FLOOR["expression"])


def test_floors_by_channel_kind():
    assert floor_of(2) == FLOOR["rotation_deg"] and floor_of(3) == FLOOR["translation"]
    assert floor_of(5) == FLOOR["scale"] and floor_of(7) == FLOOR["gaze"] and floor_of(30) == FLOOR["expression"]


def test_median_interval_narrows_with_more_pieces():
    rng = np.random.default_rng(0)
    few = rng.lognormal(0, 0.4, 15)
    many = rng.lognormal(0, 0.4, 240)
    lo_f, hi_f = median_interval(few, np.random.default_rng(1))
    lo_m, hi_m = median_interval(many, np.random.default_rng(1))
    assert lo_f <= np.median(few) <= hi_f and lo_m <= np.median(many) <= hi_m
    assert hi_m - lo_m < 0.5 * (hi_f - lo_f)
