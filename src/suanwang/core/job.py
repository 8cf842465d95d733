"""A training job as users submit it: what to train, how much, and with which constraints."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suanwang.core.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """A request to train ``model`` on ``tokens`` tokens.

    ``num_devices`` and ``accelerator`` may be left to the planner (0 / None). ``priority`` is
    larger-is-more-urgent; ``max_cost`` caps spend in the federation currency (0 = no cap).
    """

    name: str
    tenant: str
    model: str
    tokens: float
    global_batch_seqs: int = 1024
    seq_len: int = 2048
    num_devices: int = 0
    accelerator: str | None = None
    center: str | None = None
    priority: int = 0
    max_cost: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens <= 0:
            raise ConfigError(f"must be > 0 (got {self.tokens})", field="tokens")
        if self.global_batch_seqs < 1:
            raise ConfigError("must be >= 1", field="global_batch_seqs")
        if self.seq_len < 1:
            raise ConfigError("must be >= 1", field="seq_len")
        if self.num_devices < 0:
            raise ConfigError("must be >= 0 (0 lets the planner choose)", field="num_devices")

    def to_dict(self) -> dict:
        return asdict(self)
