"""A parallel training configuration: how one job's work is split over its devices."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suanwang.core.errors import ConfigError

RECOMPUTE_MODES = ("none", "selective", "full")


@dataclass(frozen=True, kw_only=True)
class Parallelism:
    """tp x pp x dp x cp devices; ``vp`` virtual stages per pipeline rank (interleaved 1F1B);
    ``micro_batch`` sequences per micro-batch; ``zero_stage`` 0 (DDP), 1, 2, 3 (=FSDP full shard);
    ``recompute`` none | selective | full; ``sequence_parallel`` shards norm/dropout activations
    over tp (Korthikanti et al. 2022)."""

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    vp: int = 1
    micro_batch: int = 1
    zero_stage: int = 0
    recompute: str = "none"
    sequence_parallel: bool = False

    def __post_init__(self) -> None:
        for name in ("tp", "pp", "dp", "cp", "vp", "micro_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"must be an integer >= 1 (got {value!r})", field=name)
        if self.zero_stage not in (0, 1, 2, 3):
            raise ConfigError(f"must be 0, 1, 2 or 3 (got {self.zero_stage!r})", field="zero_stage")
        if self.recompute not in RECOMPUTE_MODES:
            raise ConfigError(f"must be one of {', '.join(RECOMPUTE_MODES)} "
                              f"(got {self.recompute!r})", field="recompute")
        if self.vp > 1 and self.pp == 1:
            raise ConfigError("vp > 1 (interleaving) needs pp > 1", field="vp")

    @property
    def world_size(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    def to_dict(self) -> dict:
        return asdict(self)
