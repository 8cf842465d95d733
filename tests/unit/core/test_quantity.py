"""Quantities with units as users type them."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.core.quantity import parse_bytes, parse_count, parse_duration_s


@pytest.mark.parametrize(("text", "seconds"), [
    ("3600", 3600.0), (90, 90.0), ("90s", 90.0), ("45min", 2700.0), ("12h", 43200.0),
    ("30d", 2_592_000.0), ("2w", 1_209_600.0), ("1.5h", 5400.0), (" 7 d ", 604800.0),
])
def test_durations(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "count"), [
    ("2e12", 2e12), ("1.5T", 1.5e12), ("500B", 5e11), ("5M", 5e6), ("300k", 3e5), (7, 7.0),
])
def test_counts(text, count):
    assert parse_count(text) == pytest.approx(count)


@pytest.mark.parametrize(("text", "n_bytes"), [
    ("80GB", 80e9), ("64GiB", 64 * 1024**3), ("512MiB", 512 * 1024**2), ("1e9", 1e9),
])
def test_sizes(text, n_bytes):
    assert parse_bytes(text) == pytest.approx(n_bytes)


@pytest.mark.parametrize("bad", ["", "abc", "30x", "1e999", "--3", True, "nan"])
def test_bad_values_name_the_field(bad):
    with pytest.raises(ConfigError, match="deadline"):
        parse_duration_s(bad, field="deadline")
