"""suanwang.perf layer (see docs/architecture.md)."""
