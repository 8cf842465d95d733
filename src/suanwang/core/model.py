"""Model architecture presets (dense decoder-only transformers)."""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError

FFN_KINDS = ("gelu", "swiglu")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A dense decoder-only transformer.

    ``kv_heads`` < ``heads`` means grouped-query attention (GQA). ``ffn_kind`` is ``gelu``
    (two matrices h->f->h) or ``swiglu`` (three matrices). ``vocab`` is the padded vocabulary.
    ``head_size`` (0 = ``hidden / heads``) is the per-head width when it differs (Gemma: 256 with
    hidden 3072 and 16 heads). Mixture of experts: ``experts`` > 1 replaces every FFN by
    ``experts`` FFNs of width ``expert_ffn_hidden`` (0 = ``ffn_hidden``) plus a router, each
    token visiting ``top_k`` of them (Shazeer et al. 2017; Fedus et al. 2021).
    ``sliding_window`` (0 = none) limits each query to the last ``sliding_window`` keys
    (Mistral 7B v0.1: 4096; Jiang et al. 2023, Beltagy et al. 2020).
    """

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn_hidden: int
    vocab: int
    seq_len: int = 2048
    ffn_kind: str = "gelu"
    tied_embeddings: bool = False
    source: str = ""
    head_size: int = 0
    experts: int = 1
    top_k: int = 1
    expert_ffn_hidden: int = 0
    sliding_window: int = 0

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be >= 1 (got {getattr(self, name)})",
                                  entry=f"model '{self.name}'", field=name)
        for name in ("head_size", "expert_ffn_hidden", "sliding_window"):
            if getattr(self, name) < 0:
                raise ConfigError("must be >= 0", entry=f"model '{self.name}'", field=name)
        if self.experts < 1 or not 1 <= self.top_k <= self.experts:
            raise ConfigError(f"need experts >= 1 and 1 <= top_k <= experts (got {self.experts}, "
                              f"{self.top_k})", entry=f"model '{self.name}'", field="top_k")
        if not self.head_size and self.hidden % self.heads:
            raise ConfigError(f"hidden {self.hidden} is not divisible by heads {self.heads}",
                              entry=f"model '{self.name}'", field="heads")
        if self.heads % self.kv_heads:
            raise ConfigError(f"heads {self.heads} is not divisible by kv_heads {self.kv_heads}",
                              entry=f"model '{self.name}'", field="kv_heads")
        if self.ffn_kind not in FFN_KINDS:
            raise ConfigError(f"unknown ffn_kind '{self.ffn_kind}'; use one of {FFN_KINDS}",
                              entry=f"model '{self.name}'", field="ffn_kind")

    @property
    def head_dim(self) -> int:
        return self.head_size or self.hidden // self.heads

    @property
    def attention_width(self) -> int:
        """heads x head_dim: the width of q and of the attention output (= hidden by default)."""
        return self.heads * self.head_dim

    @property
    def expert_width(self) -> int:
        """FFN width of one expert (the dense FFN width for dense models)."""
        return self.expert_ffn_hidden or self.ffn_hidden

    @property
    def expert_params_per_layer(self) -> int:
        """FFN weights of one block: all experts (the one dense FFN when ``experts`` = 1)."""
        mats = 3 if self.ffn_kind == "swiglu" else 2
        return self.experts * mats * self.hidden * self.expert_width

    @property
    def params_per_layer(self) -> int:
        """Weights of one block: attention (q, o; k, v per kv head), FFN(s), router, two norms."""
        h, kv = self.hidden, self.kv_heads * self.head_dim
        attn = 2 * h * self.attention_width + 2 * h * kv
        router = h * self.experts if self.experts > 1 else 0
        return attn + self.expert_params_per_layer + router + 2 * h

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        """Total parameters (input embedding + blocks + final norm + untied output head)."""
        head = 0 if self.tied_embeddings else self.vocab * self.hidden
        return self.layers * self.params_per_layer + self.embedding_params + head + self.hidden

    def to_dict(self) -> dict:
        return {
            "name": self.name, "layers": self.layers, "hidden": self.hidden, "heads": self.heads,
            "kv_heads": self.kv_heads, "ffn_hidden": self.ffn_hidden, "vocab": self.vocab,
            "seq_len": self.seq_len, "ffn_kind": self.ffn_kind,
            "tied_embeddings": self.tied_embeddings, "params": self.params, "source": self.source,
            "head_size": self.head_dim, "experts": self.experts, "top_k": self.top_k,
            "expert_ffn_hidden": self.expert_width, "sliding_window": self.sliding_window,
        }
