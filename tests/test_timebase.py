"""Time conventions: ISO parsing, split Julian dates, integer ns since the epoch, formatting."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sgp4.api import jday
from skyfield.api import load

from simulator import timebase as tb
from simulator.errors import InputError


def test_doctests():
    result = doctest.testmod(tb)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-02-24T03:43:00Z", datetime(2026, 2, 24, 3, 43, tzinfo=timezone.utc)),
        ("2026-02-24T05:43:00+02:00", datetime(2026, 2, 24, 3, 43, tzinfo=timezone.utc)),
        ("2026-02-23T22:13:00.250-0530", datetime(2026, 2, 24, 3, 43, 0, 250000, tzinfo=timezone.utc)),
        ("2026-02-24", datetime(2026, 2, 24, tzinfo=timezone.utc)),
        ("2026-02-24 03:43", datetime(2026, 2, 24, 3, 43, tzinfo=timezone.utc)),  # no offset: UTC
    ],
)
def test_parse_iso8601(text, expected):
    got = tb.parse_iso8601(text)
    assert got == expected and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00Z", "2026-02-30", "2026-02-24T25:00Z", ""])
def test_parse_iso8601_rejects(bad):
    with pytest.raises(InputError, match="time"):
        tb.parse_iso8601(bad)


def test_nanoseconds_survive_parsing_and_split_jd():
    ns = tb.to_utc_ns("2026-02-24T03:43:00.123456789Z")
    assert ns % 1_000_000_000 == 123_456_789
    jd, fr = tb.utc_ns_to_jd(ns)
    assert jd % 1.0 == 0.5 and 0.0 <= fr < 1.0
    assert int(tb.jd_to_utc_ns(jd, fr)) == ns  # exact round trip through the split JD


def test_split_jd_matches_sgp4_jday():
    # sgp4.api.jday is the reference split used in Vallado's code (jd at midnight, fr of day).
    dt = datetime(2004, 4, 6, 7, 51, 28, 386009, tzinfo=timezone.utc)
    jd, fr = tb.datetime_to_jd(dt)
    jd_ref, fr_ref = jday(2004, 4, 6, 7, 51, 28.386009)
    assert jd == jd_ref
    assert abs(fr - fr_ref) * 86400.0 < 1e-9  # s


def test_ns_since_epoch_vectorised_round_trip_over_many_days():
    epoch = tb.to_utc_ns("2026-02-24T23:59:59.5Z")
    t_ns = np.array([0, 1, 500_000_000, 86_400 * 10**9, 10 * 86_400 * 10**9 + 7], dtype=np.int64)
    jd, fr = tb.ns_since_epoch_to_jd(epoch, t_ns)
    assert np.all((fr >= 0) & (fr < 1)) and np.all(jd % 1.0 == 0.5)
    np.testing.assert_array_equal(tb.jd_to_ns_since_epoch(epoch, jd, fr), t_ns)
    # a JD not split at midnight converts identically
    np.testing.assert_array_equal(tb.jd_to_ns_since_epoch(epoch, jd + 0.25, fr - 0.25), t_ns)


def test_float_seconds_split_keeps_precision():
    epoch = tb.to_utc_ns("2026-02-24T00:00:00Z")
    t = np.array([0.0, 1e-6, 86_399.999_999, 5 * 86_400 + 0.5])
    jd, fr = tb.seconds_since_epoch_to_jd(epoch, t)
    back = tb.jd_to_ns_since_epoch(epoch, jd, fr)
    np.testing.assert_array_equal(back, np.rint(t * 1e9).astype(np.int64))


def test_datetime64_and_formatting():
    ns = np.array([tb.to_utc_ns("2026-02-24T03:43:00.0004Z"), tb.to_utc_ns("2026-02-24T03:43:00.9996Z")])
    d64 = tb.utc_ns_to_datetime64(ns)
    assert d64.dtype == np.dtype("datetime64[ns]")
    assert tb.to_utc_ns(d64[0]) == ns[0]
    text = tb.format_iso8601_ms(d64)
    assert text.tolist() == ["2026-02-24T03:43:00.000Z", "2026-02-24T03:43:01.000Z"]  # nearest ms
    assert tb.format_iso8601_ms(np.array(["NaT"], dtype="datetime64[ns]")).tolist() == [""]
    assert tb.utc_ns_to_datetime(ns[0]) == datetime(2026, 2, 24, 3, 43, 0, 400, tzinfo=timezone.utc)


def test_skyfield_time_matches_skyfield_utc():
    # The Skyfield Time we build from a split UTC JD is Skyfield's own UTC instant (leap seconds
    # applied by Skyfield): TT and UT1 agree to float precision.
    ts = load.timescale(builtin=True)
    ns = tb.to_utc_ns("2016-12-31T23:59:59Z") + np.array([0, 2 * 10**9, 86_400 * 10**9])  # across a leap second
    jd, fr = tb.utc_ns_to_jd(ns)
    t = tb.skyfield_time(ts, jd, fr)
    ref = ts.utc(np.array([2016, 2017, 2017]), np.array([12, 1, 1]), np.array([31, 1, 1]),
                 np.array([23, 0, 23]), np.array([59, 0, 59]), np.array([59.0, 1.0, 59.0]))
    np.testing.assert_allclose((t.tt - ref.tt) * 86400.0, 0.0, atol=1e-6)  # s
    np.testing.assert_allclose((t.ut1 - ref.ut1) * 86400.0, 0.0, atol=1e-6)
