"""The job state machine as data: states, reasons, and which transitions are legal.

PENDING -> ADMITTED -> DISPATCHED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED, with
RUNNING -> RETRYING -> DISPATCHED on failure or preemption, and CANCELLED (or FAILED) reachable
from every non-terminal state. PENDING carries why it waits (``PENDING_REASONS``).
"""

from __future__ import annotations

PENDING, ADMITTED, DISPATCHED, RUNNING = "PENDING", "ADMITTED", "DISPATCHED", "RUNNING"
RETRYING, SUCCEEDED, FAILED, CANCELLED = "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED"
STATES = (PENDING, ADMITTED, DISPATCHED, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE = frozenset(STATES) - TERMINAL
PENDING_REASONS = ("submitted", "quota", "insufficient_balance", "capacity", "policy")

# to_state -> states it may be entered from (a transition outside this table is a bug).
ALLOWED_FROM: dict[str, frozenset[str]] = {
    PENDING: frozenset({PENDING, ADMITTED}),
    ADMITTED: frozenset({PENDING}),
    DISPATCHED: frozenset({ADMITTED, RETRYING}),
    RUNNING: frozenset({DISPATCHED, RETRYING}),
    RETRYING: frozenset({DISPATCHED, RUNNING}),
    SUCCEEDED: frozenset({RUNNING, DISPATCHED}),
    FAILED: ACTIVE,
    CANCELLED: ACTIVE,
}
