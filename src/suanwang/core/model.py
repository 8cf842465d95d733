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

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be >= 1 (got {getattr(self, name)})",
                                  entry=f"model '{self.name}'", field=name)
        if self.hidden % self.heads:
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
        return self.hidden // self.heads

    @property
    def params_per_layer(self) -> int:
        """Weights of one block: attention (q, o full; k, v per kv head), FFN, two norms."""
        h, kv = self.hidden, self.kv_heads * self.head_dim
        attn = 2 * h * h + 2 * h * kv
        mats = 3 if self.ffn_kind == "swiglu" else 2
        ffn = mats * h * self.ffn_hidden
        return attn + ffn + 2 * h

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
        }
