"""Collective and point-to-point communication time: latency + bandwidth (alpha-beta) models.

Ring collectives over ``n`` ranks move ``(n-1)/n`` of the buffer per rank per phase (all-reduce =
reduce-scatter + all-gather = 2 phases) and pay one latency per ring step (Thakur, Rabenseifner &
Gropp 2005; Patarasuk & Yuan 2009). Groups spanning nodes use the hierarchical form NCCL approaches
with one NIC per GPU: reduce-scatter inside the node over the scale-up link among the ``k`` members
per node, the inter-node phase on ``S/k`` per GPU over the ``N = n/k`` nodes (each GPU on its own
NIC share), then all-gather inside the node. Bandwidths are per direction, per device, already
scaled by the achievable fractions of the efficiency profile. All functions accept numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PHASES = {"all_reduce": 2.0, "reduce_scatter": 1.0, "all_gather": 1.0}


@dataclass(frozen=True, kw_only=True)
class Links:
    """Achievable per-device link figures used by every collective of one cluster."""

    intra_bytes_per_s: float
    inter_bytes_per_s: float
    intra_latency_s: float
    inter_latency_s: float
    devices_per_node: int


def ring_time_s(kind: str, size_bytes, n, bytes_per_s, latency_s):
    """Flat ring collective of a ``size_bytes`` buffer over ``n`` ranks on one kind of link."""
    phases = PHASES[kind]
    n = np.asarray(n, dtype=float)
    return phases * ((n - 1.0) / n * size_bytes / bytes_per_s + (n - 1.0) * latency_s)


def members_per_node(n, stride, devices_per_node: int):
    """Members of a group of ``n`` ranks, ``stride`` ranks apart, that share one node."""
    n = np.asarray(n)
    stride = np.asarray(stride)
    k = np.maximum(devices_per_node // np.maximum(stride, 1), 1)
    return np.minimum(n, k)


def collective_time_s(kind: str, size_bytes, n, k, links: Links):
    """Hierarchical collective: ``n`` ranks, ``k`` of them per node (k = n: one node).

    Intra-node phases over the scale-up link, inter-node phase on S/k per GPU over N = n/k nodes.
    """
    phases = PHASES[kind]
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    nodes = np.maximum(n / k, 1.0)
    intra = phases * ((k - 1.0) / k * size_bytes / links.intra_bytes_per_s
                      + (k - 1.0) * links.intra_latency_s)
    inter = phases * ((nodes - 1.0) / nodes * size_bytes / k / links.inter_bytes_per_s
                      + (nodes - 1.0) * links.inter_latency_s)
    return intra + inter


def p2p_time_s(size_bytes, crosses_node, links: Links):
    """One point-to-point send of ``size_bytes`` (pipeline activations or their gradients)."""
    bw = np.where(crosses_node, links.inter_bytes_per_s, links.intra_bytes_per_s)
    lat = np.where(crosses_node, links.inter_latency_s, links.intra_latency_s)
    return lat + size_bytes / bw


def all_to_all_time_s(size_bytes, n, k, links: Links):
    """All-to-all of a ``size_bytes`` buffer per rank over ``n`` ranks, ``k`` of them per node
    (MoE token dispatch/combine): each rank keeps 1/n, sends (k-1)/n over the scale-up link and
    (n-k)/n over its NIC share, the two concurrently (the slower one sets the time)."""
    n = np.asarray(n, dtype=float)
    k = np.minimum(np.asarray(k, dtype=float), n)
    intra = (k - 1.0) / n * size_bytes / links.intra_bytes_per_s + (k > 1) * links.intra_latency_s
    inter = (n - k) / n * size_bytes / links.inter_bytes_per_s + (n > k) * links.inter_latency_s
    return np.where(n > 1, np.maximum(intra, inter), 0.0)
