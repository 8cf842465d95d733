"""Lease admission (plan.leases): never overlap beyond capacity; earliest start is earliest."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from suanwang.plan.leases import Busy, earliest_start, fits, in_use, peak

CAP = 16


def _admit(requests):
    """Admit requests one by one as the store does: fits -> admitted, else refused."""
    admitted: list[Busy] = []
    for start, length, devices in requests:
        if fits(CAP, admitted, start, start + length, devices):
            admitted.append(Busy(start, start + length, devices))
    return admitted


requests = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 60),
                              st.sampled_from([4, 8, 12, 16])), max_size=25)


@settings(max_examples=300, deadline=None)
@given(requests)
def test_admitted_leases_never_exceed_capacity(reqs):
    admitted = _admit(reqs)
    instants = {b.start for b in admitted} | {b.end - 0.5 for b in admitted}
    assert all(in_use(admitted, t) <= CAP for t in instants)


@settings(max_examples=200, deadline=None)
@given(requests, st.integers(0, 200), st.integers(1, 60), st.sampled_from([4, 8, 16]))
def test_earliest_start_fits_and_nothing_earlier_does(reqs, start, length, devices):
    busy = _admit(reqs)
    t = earliest_start(CAP, busy, start, length, devices)
    assert t is not None and t >= start  # every interval ends, so it eventually fits
    assert fits(CAP, busy, t, t + length, devices)
    # no integer start between the request and t fits (all times here are integers)
    assert not any(fits(CAP, busy, s, s + length, devices) for s in range(start, int(t)))


def test_by_hand():
    busy = [Busy(0, 10, 8), Busy(5, 20, 8)]
    assert peak(busy, 0, 30) == 16
    assert not fits(16, busy, 0, 10, 1)
    assert earliest_start(16, busy, 0, 5, 8) == 0  # [0, 5) has only 8 in use
    assert earliest_start(16, busy, 0, 10, 8) == 10  # first end that leaves 8 free
    assert earliest_start(16, busy, 0, 5, 16) == 20
    assert earliest_start(16, [Busy(0, math.inf, 16)], 0, 5, 1) is None
    assert earliest_start(8, [], 0, 5, 16) is None
