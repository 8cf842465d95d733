"""The CLI's event follower survives the supervisor rotating events.jsonl (re-runs)."""

from __future__ import annotations

import json

from suanwang.cli.runtime_cmd import EventFollower


def _append(path, *records, tail=b""):
    with open(path, "ab") as f:
        for r in records:
            f.write((json.dumps(r) + "\n").encode())
        f.write(tail)


def test_follower_skips_the_old_file_and_follows_the_rotated_one(tmp_path):
    events = tmp_path / "events.jsonl"
    _append(events, *({"event": "step", "step": i} for i in range(50)))  # an earlier run
    follow = EventFollower(events)
    assert follow.poll() == []  # not rotated yet: the old timeline is never read
    events.rename(tmp_path / "events.1.jsonl")
    _append(events, {"event": "start"}, tail=b'{"event": "st')  # a line being written
    assert follow.poll() == [{"event": "start"}]
    _append(events, tail=b'ep", "step": 1}\nnot json\n')
    assert follow.poll() == [{"event": "step", "step": 1}]
    events.unlink()
    _append(events, {"event": "start"})  # truncated/replaced again
    assert follow.poll() == [{"event": "start"}]
