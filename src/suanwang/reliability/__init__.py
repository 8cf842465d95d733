"""suanwang.reliability layer (see docs/architecture.md)."""
