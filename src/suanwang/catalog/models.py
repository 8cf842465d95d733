"""Model presets: ``catalog/data/models.yaml`` -> ``{name: ModelSpec}``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from suanwang.catalog.fields import Entry, data_path, parse_named, read_yaml
from suanwang.core.errors import ConfigError
from suanwang.core.model import FFN_KINDS, ModelSpec


def parse_model(item: object, *, file: str, entry: str) -> ModelSpec:
    """One model mapping -> ModelSpec (also used for models given inline in scenario files)."""
    e = Entry(item, file=file, entry=entry)
    hidden = e.integer("hidden")
    heads = e.integer("heads")
    try:
        return ModelSpec(
            name=e.str("name"),
            layers=e.integer("layers"),
            hidden=hidden,
            heads=heads,
            kv_heads=e.integer("kv_heads", heads),
            ffn_hidden=e.integer("ffn_hidden", 4 * hidden),
            vocab=e.integer("vocab"),
            seq_len=e.integer("seq_len", 2048),
            ffn_kind=e.str("ffn_kind", "gelu", choices=FFN_KINDS),
            tied_embeddings=e.boolean("tied_embeddings", False),
            source=e.str("source", "") if e.raw("source", "") else "",
        )
    except ConfigError as exc:
        raise ConfigError(exc.detail, file=file, entry=entry, field=exc.field) from None


def parse_models(doc: object, file: str) -> dict[str, ModelSpec]:
    return parse_named(doc, "models", file, "model", parse_model)


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, ModelSpec]:
    return parse_models(read_yaml(path), path)


def load_models(path: str | Path | None = None) -> dict[str, ModelSpec]:
    """All model presets (or those of ``path``), parsed once per path."""
    return dict(_load(str(path or data_path("models.yaml"))))


def get_model(name: str, path: str | Path | None = None) -> ModelSpec:
    """One preset by name (case-insensitive); unknown -> ConfigError listing known names."""
    models = load_models(path)
    if name in models:
        return models[name]
    lower = {k.lower(): k for k in models}
    if name.lower() in lower:
        return models[lower[name.lower()]]
    raise ConfigError(f"unknown model '{name}'; known: {', '.join(models)}", field="model")
