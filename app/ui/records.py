"""Saved records edited in the UI (personas, emotion profiles): one JSON file per record.

Built-in records (shipped in assets/ or by the owning package) are read-only; the user's own live
in the data dir, where saving writes a temporary file and renames it over the old one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from app.ui.storage import atomic_write_text, check_name

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class RecordError(ValueError):
    """A record cannot be saved, deleted or imported; `field` names the field at fault ('' = whole)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def field_errors(exc: ValidationError) -> dict[str, str]:
    """{top-level field: first message} of a pydantic ValidationError."""
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        rest = ".".join(str(p) for p in err["loc"][1:])
        out.setdefault(name, f"{rest + ': ' if rest else ''}{err['msg']}")
    return out


class RecordFiles(Generic[M]):
    """Records of `model` keyed by their `name` field.

    builtin: () -> {name: record} of read-only records; user_dir: where the user's are saved.
    """

    def __init__(self, model: type[M], user_dir: Path, builtin: Callable[[], dict[str, M]]):
        self.model = model
        self.user_dir = Path(user_dir)
        self._builtin = builtin

    def all(self) -> dict[str, M]:
        """Built-in records overlaid by the user's (a user record may shadow a built-in one)."""
        out = dict(self._builtin())
        for path in sorted(self.user_dir.glob("*.json")):
            try:
                rec = self.model.model_validate_json(path.read_text(encoding="utf-8"))
            except (OSError, ValidationError) as exc:
                log.warning("skipping unreadable %s: %s", path, exc)
                continue
            out[getattr(rec, "name")] = rec
        return out

    def is_user(self, name: str) -> bool:
        return (self.user_dir / f"{name}.json").is_file()

    def path(self, name: str) -> Path:
        return self.user_dir / f"{check_name(name)}.json"

    def build(self, data: dict) -> M:
        """Validate `data` into a record. Raises RecordError naming the first bad field."""
        try:
            check_name(str(data.get("name", "")))
        except ValueError as exc:
            raise RecordError(str(exc), "name") from None
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            field, msg = next(iter(field_errors(exc).items()))
            raise RecordError(msg, field) from None

    def save(self, record: M) -> Path:
        path = self.path(getattr(record, "name"))
        atomic_write_text(path, record.model_dump_json(indent=2))
        return path

    def delete(self, name: str) -> None:
        if not self.is_user(name):
            raise RecordError(f"{name!r} is built in and cannot be deleted (duplicate it to make your own)", "name")
        self.path(name).unlink()

    def import_file(self, path: str | Path) -> M:
        """Read a record exported before (a JSON file) and save it. Raises RecordError."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"not a readable JSON file ({exc})") from None
        if not isinstance(data, dict):
            raise RecordError("the file does not hold one record (a JSON object)")
        record = self.build(data)
        self.save(record)
        return record
