"""Collective cost models: hand-worked ring and hierarchical cases."""

from __future__ import annotations

import pytest

from suanwang.perf.comm import Links, collective_time_s, members_per_node, p2p_time_s, ring_time_s

L = Links(intra_bytes_per_s=200e9, inter_bytes_per_s=20e9, intra_latency_s=2e-6,
          inter_latency_s=10e-6, devices_per_node=8)


def test_ring_all_reduce_hand_worked():
    # 8 ranks, 1 GB: 2 * 7/8 * 1e9 / 200e9 + 2 * 7 * 2e-6
    assert ring_time_s("all_reduce", 1e9, 8, 200e9, 2e-6) == pytest.approx(
        2 * 7 / 8 * 1e9 / 200e9 + 14 * 2e-6)
    assert ring_time_s("all_gather", 1e9, 8, 200e9, 0.0) == pytest.approx(7 / 8 * 1e9 / 200e9)
    assert ring_time_s("all_reduce", 1e9, 1, 200e9, 2e-6) == 0.0


def test_hierarchical_limits():
    # inside one node: the ring on the scale-up link
    assert collective_time_s("all_reduce", 1e9, 8, 8, L) == pytest.approx(
        ring_time_s("all_reduce", 1e9, 8, 200e9, 2e-6))
    # one member per node: the ring on the NIC
    assert collective_time_s("all_reduce", 1e9, 16, 1, L) == pytest.approx(
        ring_time_s("all_reduce", 1e9, 16, 20e9, 10e-6))
    # 64 ranks, 8 per node: intra RS+AG over 8, inter all-reduce of S/8 over 8 nodes
    got = collective_time_s("all_reduce", 1e9, 64, 8, L)
    intra = 2 * (7 / 8 * 1e9 / 200e9 + 7 * 2e-6)
    inter = 2 * (7 / 8 * 1e9 / 8 / 20e9 + 7 * 10e-6)
    assert got == pytest.approx(intra + inter)


def test_members_per_node():
    assert int(members_per_node(64, 8, 8)) == 1   # tp = 8 fills the node: dp ranks apart
    assert int(members_per_node(64, 2, 8)) == 4
    assert int(members_per_node(2, 1, 8)) == 2


def test_p2p():
    assert float(p2p_time_s(1e9, True, L)) == pytest.approx(10e-6 + 1e9 / 20e9)
    assert float(p2p_time_s(1e9, False, L)) == pytest.approx(2e-6 + 1e9 / 200e9)
