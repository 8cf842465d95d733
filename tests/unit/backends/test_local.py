"""The local backend: idempotent submit, exit codes and log tails, re-attach, cancel."""

import time

from suanwang.backends.base import AttemptSpec, AttemptState
from suanwang.backends.local import LocalBackend
from suanwang.catalog import load_federation


def _backend(tmp_path):
    return LocalBackend(load_federation().center("local"), tmp_path)


def _spec(key, command):
    return AttemptSpec(key=key, job_id=1, n=0, kind="batch", center="local",
                       accelerator="CPU-local", devices=1, command=command)


def _wait(b, h, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st = b.poll([h])[h.key]
        if st.state.terminal:
            return st
        time.sleep(0.05)
    raise AssertionError("attempt did not end")


def test_submit_twice_runs_once(tmp_path):
    b = _backend(tmp_path)
    a = _spec("k1", "echo ran >> count.txt; sleep 0.3")
    h1 = b.submit(a)
    h2 = b.submit(a)
    assert h1 == h2
    assert _wait(b, h1).state is AttemptState.SUCCEEDED
    h3 = LocalBackend(load_federation().center("local"), tmp_path).submit(a)  # restarted ctl
    assert h3.native_id == h1.native_id
    assert (tmp_path / "attempts" / "k1" / "count.txt").read_text() == "ran\n"


def test_failure_has_exit_code_and_log_tail(tmp_path):
    b = _backend(tmp_path)
    h = b.submit(_spec("k2", "echo boom >&2; exit 7"))
    st = _wait(b, h)
    assert (st.state, st.exit_code) == (AttemptState.FAILED, 7)
    assert "boom" in st.log_tail
    u = b.usage(h)
    assert u.final and u.devices == 1 and u.device_seconds == u.wall_s


def test_reattach_and_cancel(tmp_path):
    b = _backend(tmp_path)
    h = b.submit(_spec("k3", "sleep 30"))
    assert b.capacity()[0].free_devices == 1
    fresh = _backend(tmp_path)  # a restarted controller knows only the stored handle
    assert fresh.poll([h])[h.key].state is AttemptState.RUNNING
    fresh.cancel(h)
    st = _wait(fresh, h)
    assert st.state is AttemptState.CANCELLED
    assert fresh.capacity()[0].free_devices == 2


def test_killed_keeper_is_node_fail(tmp_path):
    import os
    import signal

    b = _backend(tmp_path)
    h = b.submit(_spec("k4", "sleep 30"))
    os.killpg(int(h.native_id), signal.SIGKILL)
    st = _wait(b, h)
    assert st.state is AttemptState.NODE_FAIL and "lost" in st.reason
