"""Reading a user's text file with errors that name it.

Every loader of a user-supplied file (job files, traces, CSVs, catalog overrides) reads through
here, so a missing path, a directory, an unreadable file or bytes that are not UTF-8 text all
become one :class:`~suanwang.core.errors.ConfigError` naming the file, never a bare
``UnicodeDecodeError`` from deep inside a parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from suanwang.core.errors import ConfigError


def not_text(exc: UnicodeDecodeError, file: str, *, streamed: bool = False,
             kind: str = "a text file") -> ConfigError:
    """The ConfigError for bytes that are not UTF-8: names the file, the byte and its offset."""
    byte = exc.object[exc.start] if exc.start < len(exc.object) else 0
    where = "" if streamed else f" at offset {exc.start}"  # streamed: the offset is a chunk's
    return ConfigError(f"not UTF-8 text (byte 0x{byte:02x}{where}); give {kind}", file=file)


def unreadable(exc: OSError, file: str, *, what: str = "file") -> ConfigError:
    """The ConfigError for a path that cannot be read (missing, a directory, no permission)."""
    if isinstance(exc, FileNotFoundError):
        return ConfigError(f"cannot read {what}: not found; check the path", file=file)
    if isinstance(exc, IsADirectoryError):
        return ConfigError(f"cannot read {what}: it is a directory; give a file", file=file)
    return ConfigError(f"cannot read {what}: {exc.strerror or exc}", file=file)


def yaml_error(exc: Exception, file: str | None) -> ConfigError:
    """The ConfigError for a ``yaml.YAMLError``: one line with the parser's problem and the line
    of its mark (1-based), naming ``file`` -- the same form ``catalog.fields.read_yaml`` gives,
    not PyYAML's multi-line report with ``<unicode string>`` in place of the file name."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"not valid YAML: {problem}", file=file, line=line)


def read_text(path: str | Path, *, what: str = "file", kind: str = "a text file") -> str:
    """The whole of ``path`` as UTF-8 text.

    Raises:
        ConfigError: naming the file when it is missing, a directory, unreadable, or not UTF-8.
    """
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise not_text(exc, str(p), kind=kind) from None
    except OSError as exc:
        raise unreadable(exc, str(p), what=what) from None


def text_lines(lines: Iterable[str], file: str, *, kind: str = "a text file") -> Iterator[str]:
    """Iterate the lines of an open text file, turning a decode error into a ConfigError that
    names ``file`` (streaming, so large traces are not read twice; the decoder works in chunks,
    so no line number is claimed)."""
    it = iter(lines)
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise not_text(exc, file, streamed=True, kind=kind) from None
        yield line
