"""Policy name -> policy object (each implements :class:`suanwang.sched.policy.Policy`)."""

from __future__ import annotations

from collections.abc import Callable

from suanwang.core.errors import ConfigError
from suanwang.sched.backfill import EasyBackfill
from suanwang.sched.fairshare import FairShare
from suanwang.sched.fifo import Fifo
from suanwang.sched.policy import Policy
from suanwang.sched.priority import PriorityPreemptive
from suanwang.sched.suanwang_policy import SuanwangPolicy

POLICIES: dict[str, Callable[[], Policy]] = {
    "fifo": Fifo,
    "backfill": EasyBackfill,
    "fairshare": FairShare,
    "priority": PriorityPreemptive,
    "suanwang": SuanwangPolicy,
}


def get_policy(name: str) -> Policy:
    """A fresh policy object by name; unknown names raise ConfigError listing the known ones."""
    factory = POLICIES.get(name.strip())
    if factory is None:
        raise ConfigError(f"unknown policy '{name}'; known policies: {', '.join(POLICIES)}",
                          field="policy")
    return factory()
