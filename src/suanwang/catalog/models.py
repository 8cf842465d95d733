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
        spec = ModelSpec(
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
            head_size=e.integer("head_size", 0, minimum=0),
            experts=e.integer("experts", 1),
            top_k=e.integer("top_k", 1),
            expert_ffn_hidden=e.integer("expert_ffn_hidden", 0, minimum=0),
            sliding_window=e.integer("sliding_window", 0, minimum=0),
        )
        e.finish()  # unknown keys named with a "did you mean"
        return spec
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


INLINE_INTS = ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "seq_len",
               "head_size", "experts", "top_k", "expert_ffn_hidden", "sliding_window")


def resolve_model(text: str) -> ModelSpec:
    """A model given on a command line: a preset name, a model file (YAML/JSON: one model
    mapping, or a ``models:`` list with exactly one entry), or inline dimensions
    ``layers=32,hidden=4096,heads=32,vocab=32000[,kv_heads=8,ffn_hidden=14336,ffn_kind=swiglu,
    seq_len=4096,tied_embeddings=true,head_size=128,experts=8,top_k=2,sliding_window=4096,
    name=my-model]``.
    Errors are ConfigErrors naming the field (or the file)."""
    if "=" in text:
        return parse_model(_inline(text), file="--model", entry="inline model")
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"model file not found: {text}", field="model")
        doc = read_yaml(str(path))
        if isinstance(doc, dict) and "models" in doc:
            models = parse_models(doc, str(path))
            if len(models) != 1:
                raise ConfigError(f"holds {len(models)} models; give a file with one, or a "
                                  "preset name", file=str(path), field="models")
            return next(iter(models.values()))
        if isinstance(doc, dict) and "name" not in doc:
            doc = {**doc, "name": path.stem}
        return parse_model(doc, file=str(path), entry="model")
    return get_model(text)


def _inline(text: str) -> dict:
    out: dict[str, object] = {"name": "inline"}
    for part in text.split(","):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {part!r}", field="model")
        if key in INLINE_INTS:
            try:
                out[key] = int(value)
            except ValueError:
                raise ConfigError(f"{value!r} is not an integer", field=key) from None
        elif key == "tied_embeddings":
            if value.lower() not in ("true", "false"):
                raise ConfigError(f"must be true or false (got {value!r})", field=key)
            out[key] = value.lower() == "true"
        elif key in ("name", "ffn_kind", "source"):
            out[key] = value
        else:
            raise ConfigError(f"unknown model field; known: name, ffn_kind, tied_embeddings, "
                              f"{', '.join(INLINE_INTS)}", field=key)
    return out
