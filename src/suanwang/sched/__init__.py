"""suanwang.sched layer (see docs/architecture.md)."""
