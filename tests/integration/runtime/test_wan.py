"""The emulated WAN link: an N-byte transfer between two gloo processes takes N/bw + latency."""

from __future__ import annotations

import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from suanwang.runtime.wan import WanGroup, WanLink

BITS_PER_S, LATENCY_S = 1e8, 0.03


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SIZES = (400_000, 2_500_000)


def _worker(rank: int, port: int, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        for n_bytes in SIZES:
            _measure(rank, n_bytes, out)
    finally:
        dist.destroy_process_group()


def _measure(rank: int, n_bytes: int, out) -> None:
    wan = WanGroup(link=WanLink.from_bits(BITS_PER_S, LATENCY_S), pg=None, centers=2)
    buf = torch.ones(n_bytes // 4) if rank == 0 else torch.zeros(n_bytes // 4)
    dist.barrier()
    t0 = time.perf_counter()
    wan.transfer(buf, src=0, dst=1, rank=rank)
    transfer_s = time.perf_counter() - t0
    dist.barrier()
    t0 = time.perf_counter()
    wan.all_reduce(buf)
    all_reduce_s = time.perf_counter() - t0
    if rank == 1:
        out.put((n_bytes, transfer_s, all_reduce_s, float(buf[0]), wan.bytes_sent))


def test_transfer_takes_bytes_over_bandwidth_plus_latency():
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.start_processes(_worker, args=(_free_port(), out), nprocs=2, join=True,
                       start_method="spawn")
    for _ in SIZES:
        _check(*out.get())


def _check(n_bytes: int, transfer_s: float, all_reduce_s: float, value: float, sent: float
           ) -> None:
    link = WanLink.from_bits(BITS_PER_S, LATENCY_S)
    assert transfer_s == pytest.approx(n_bytes * 8 / BITS_PER_S + LATENCY_S, rel=0.10)
    # ring all-reduce over 2 centers: 2 messages of n/2 bytes
    assert all_reduce_s == pytest.approx(link.all_reduce_s(n_bytes, 2), rel=0.10)
    assert value == 2.0  # the data really moved: rank 1 received ones, then summed
    assert sent == n_bytes  # rank 1 sent n/2 twice in the ring all-reduce
