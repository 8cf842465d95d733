"""Reading typed fields out of parsed YAML, with errors that name the file, entry and field."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from suanwang.core.errors import ConfigError

_MISSING = object()


def data_path(name: str) -> Path:
    """Path of a packaged catalog data file."""
    return Path(str(resources.files("suanwang.catalog") / "data" / name))


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing or malformed file is a ConfigError naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; check the path", file=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}); give a YAML file", file=str(p)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=str(p)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(p),
                          line=line) from None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Entry:
    """One mapping in a file (a center, an accelerator) with typed, located field access.

    The entry remembers which fields were read; :meth:`finish` then rejects every other key as
    unknown, with a "did you mean" suggestion, so a typo (``peu:`` for ``pue:``) is named
    instead of being silently ignored. A missing field whose name is close to a key that is
    present says so too.
    """

    def __init__(self, data: Any, *, file: str, entry: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping of fields, got {type(data).__name__}",
                              file=file, entry=entry)
        self.data = data
        self.file = file
        self.entry = entry
        self.read: set[str] = set()

    def error(self, field: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, entry=self.entry, field=field)

    def raw(self, field: str, default: Any = _MISSING) -> Any:
        self.read.add(field)
        if field in self.data and self.data[field] is not None:
            return self.data[field]
        if default is _MISSING:
            close = difflib.get_close_matches(field, [str(k) for k in self.data], n=1)
            hint = f" (found unknown key '{close[0]}': a typo?)" if close else ""
            raise self.error(field, f"missing required field{hint}")
        return default

    def finish(self, also_known: Iterable[str] = ()) -> None:
        """Raise for any key that no accessor read (and that is not in ``also_known``)."""
        known = self.read | set(also_known)
        for key in self.data:
            if key not in known:
                raise self.error(str(key), "unknown key" + did_you_mean(str(key), known)
                                 + f"; known keys: {', '.join(sorted(known))}")

    def str(self, field: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> str:
        value = self.raw(field, default)
        if not isinstance(value, str) or not value:
            raise self.error(field, f"must be a non-empty string (got {value!r})")
        if choices and value not in choices:
            raise self.error(field, f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    def number(self, field: str, default: Any = _MISSING, *, minimum: float = 0.0,
               strict: bool = True) -> float:
        """A real number >= minimum (> minimum when ``strict``)."""
        value = self.raw(field, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(field, f"must be a number (got {value!r})")
        bad = value <= minimum if strict else value < minimum
        if bad:
            op = ">" if strict else ">="
            raise self.error(field, f"must be {op} {minimum:g} (got {value!r})")
        return float(value)

    def integer(self, field: str, default: Any = _MISSING, *, minimum: int = 1) -> int:
        value = self.raw(field, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(field, f"must be an integer (got {value!r})")
        if value < minimum:
            raise self.error(field, f"must be >= {minimum} (got {value!r})")
        return value

    def boolean(self, field: str, default: Any = _MISSING) -> bool:
        value = self.raw(field, default)
        if not isinstance(value, bool):
            raise self.error(field, f"must be true or false (got {value!r})")
        return value

    def strings(self, field: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.raw(field, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(field, "must be a list of strings")
        return tuple(value)

    def items(self, field: str, default: Any = _MISSING) -> list[Any]:
        value = self.raw(field, default)
        if not isinstance(value, list):
            raise self.error(field, f"must be a list (got {type(value).__name__})")
        return value


def top_list(doc: Any, key: str, file: str) -> list[Any]:
    """The list under ``key`` at the top of a document."""
    if not isinstance(doc, Mapping) or key not in doc:
        raise ConfigError(f"expected a top-level '{key}:' list", file=file)
    items = doc[key]
    if not isinstance(items, list) or not items:
        raise ConfigError(f"'{key}' must be a non-empty list", file=file, field=key)
    return items


def entry_name(item: Any, index: int, kind: str) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return f"{kind} '{name}'" if isinstance(name, str) else f"{kind} #{index + 1}"


class _Named(Protocol):
    name: str


T = TypeVar("T", bound=_Named)


def parse_named(doc: Any, key: str, file: str, kind: str,
                parse_one: Callable[..., T]) -> dict[str, T]:
    """Parse the list under ``key`` with ``parse_one(item, file=, entry=)`` into ``{name: value}``,
    rejecting duplicate names (the shape every catalog file shares)."""
    out: dict[str, T] = {}
    for i, item in enumerate(top_list(doc, key, file)):
        entry = entry_name(item, i, kind)
        value = parse_one(item, file=file, entry=entry)
        if value.name in out:
            raise ConfigError(f"duplicate {kind} name '{value.name}'", file=file, entry=entry,
                              field="name")
        out[value.name] = value
    return out
