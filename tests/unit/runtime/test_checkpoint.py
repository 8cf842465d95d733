"""Single-process checkpoint semantics: commit marker, latest, retention, partial writes."""

from __future__ import annotations

import pytest
import torch

from suanwang.runtime.checkpoint import LATEST, MARKER, committed, resolve_latest
from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT
from suanwang.runtime.saver import Checkpointer

pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled")
SMALL = ModelConfig(layers=1, hidden=16, heads=2, ffn_hidden=32, seq_len=8)


def _trained(seed: int = 0):
    torch.manual_seed(seed)
    model = GPT(SMALL)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.randint(0, 256, (2, 8))
    model(x, x).backward()
    optim.step()
    return model, optim


def test_async_save_commit_and_bit_exact_resume(tmp_path):
    model, optim = _trained()
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2)
    stall = ck.save(5, model, optim, {"samples_seen": 80})
    assert stall < 1.0
    ck.wait_staged()
    with torch.no_grad():  # the trainer may change weights once staging is done
        for p in model.parameters():
            p.add_(1.0)
    ck.close()
    assert (tmp_path / LATEST).read_text().strip() == "step_00000005"
    fresh, fresh_opt = _trained(seed=1)
    meta = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2).resume(fresh, fresh_opt)
    assert meta["step"] == 5 and meta["samples_seen"] == 80 and meta["world_size"] == 1
    ref, ref_opt = _trained()
    for a, b in zip(fresh.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)  # the snapshot, not the weights changed after staging
    for sa, sb in zip(fresh_opt.state.values(), ref_opt.state.values(), strict=True):
        assert all(torch.equal(sa[k], sb[k]) for k in sb)


def test_retention_and_partial_writes_are_ignored(tmp_path):
    model, optim = _trained()
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2, async_save=False)
    for step in (1, 2, 3):
        ck.save(step, model, optim, {"samples_seen": step})
    assert [s for s, _ in committed(tmp_path)] == [2, 3]
    partial = tmp_path / "step_00000004"  # a crash mid-save: shards, no marker
    partial.mkdir()
    (partial / "__0_0.distcp").write_bytes(b"torn")
    assert resolve_latest(tmp_path).name == "step_00000003"
    fresh, fresh_opt = _trained(seed=2)
    assert Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2).resume(
        fresh, fresh_opt)["step"] == 3
    assert not partial.exists()  # cleaned on resume
    assert all((d / MARKER).exists() for _, d in committed(tmp_path))


def test_no_checkpoint_means_fresh_start(tmp_path):
    model, optim = _trained()
    assert Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=1).resume(model, optim) is None


def test_second_save_records_the_current_learning_rate(tmp_path):
    # Regression: a cached state dict once kept the lr of the first save.
    model, optim = _trained()
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2)
    ck.save(1, model, optim, {"samples_seen": 1})
    ck.wait()
    optim.param_groups[0]["lr"] = 0.123
    ck.save(2, model, optim, {"samples_seen": 2})
    ck.close()
    fresh, fresh_opt = _trained(seed=3)
    Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2).resume(fresh, fresh_opt)
    assert fresh_opt.param_groups[0]["lr"] == 0.123


def test_resume_refuses_another_model_shape(tmp_path):
    from suanwang.core.errors import ConfigError

    model, optim = _trained()
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2, async_save=False,
                      identity={"model.layers": 1, "data.corpus_sha256": "abc"})
    ck.save(1, model, optim, {"samples_seen": 1})
    fresh, fresh_opt = _trained(seed=4)
    other = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2,
                         identity={"model.layers": 2, "data.corpus_sha256": "abc"})
    with pytest.raises(ConfigError, match=r"model\.layers") as err:
        other.resume(fresh, fresh_opt)
    assert err.value.field == "model.layers"
    same = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2,
                        identity={"model.layers": 1, "data.corpus_sha256": "abc"})
    assert same.resume(fresh, fresh_opt)["identity"]["model.layers"] == 1


def _two_checkpoints(tmp_path):
    from suanwang.runtime.checkpoint import step_dir

    model, optim = _trained()
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=3, async_save=False)
    for step in (1, 2):
        ck.save(step, model, optim, {"samples_seen": step})
    ck.close()
    return step_dir(tmp_path, 2)


@pytest.mark.parametrize("damage", ["delete", "truncate", "flip"])
def test_damaged_newest_checkpoint_falls_back_to_the_intact_one(tmp_path, damage):
    from suanwang.runtime.checkpoint import Resumer, read_marker, verify
    from suanwang.runtime.metrics import EventLog, read_events

    newest = _two_checkpoints(tmp_path)
    files = read_marker(newest)["files"]
    assert {"__0_0.distcp", ".metadata"} <= set(files)  # sizes and CRC-32 recorded at commit
    shard = newest / "__0_0.distcp"
    if damage == "delete":
        shard.unlink()
    elif damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:-100])
    else:
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    why = verify(newest)
    assert why is not None and "__0_0.distcp" in why
    events = EventLog(tmp_path / "events.jsonl", attempt=0, source="rank0")
    fresh, fresh_opt = _trained(seed=5)
    meta = Resumer(tmp_path, rank=0, pg=None, events=events).resume(fresh, fresh_opt)
    assert meta["step"] == 1  # the intact older checkpoint, not the damaged one
    ev = read_events(tmp_path / "events.jsonl")
    damaged = next(e for e in ev if e["event"] == "ckpt_damaged")
    assert damaged["step"] == 2 and "__0_0.distcp" in damaged["reason"]
    assert [s for s, _ in committed(tmp_path)] == [1]  # set aside: never loaded again
    assert (tmp_path / LATEST).read_text().strip() == "step_00000001"


def test_non_finite_state_is_never_committed(tmp_path):
    from suanwang.runtime.metrics import EventLog, read_events
    from suanwang.runtime.persist import PersistSpec

    model, optim = _trained()
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    spec = PersistSpec(root=str(tmp_path), addr="", events_path=str(tmp_path / "ev.jsonl"))
    ck = Checkpointer(tmp_path, rank=0, world=1, pg=None, keep=2, async_save=False,
                      events=EventLog(tmp_path / "ev.jsonl", attempt=0, source="rank0"),
                      spec=spec)
    ck.save(1, model, optim, {"samples_seen": 1})
    ck.close()
    assert committed(tmp_path) == [] and ck.last_committed is None
    assert [e["step"] for e in read_events(tmp_path / "ev.jsonl")
            if e["event"] == "ckpt_refused"] == [1]
