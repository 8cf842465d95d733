"""suanwang.control layer (see docs/architecture.md)."""
