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
    """Records of `model` keyed by their `name` field, stored through the owning package.

    list_all: () -> {name: record}, built-in and the user's; save: record -> path (atomic);
    delete: name -> None (refuses built-ins); user_file: name -> the user's file, or None;
    parse: (file text, suffix) -> dict, for imports.
    """

    def __init__(self, model: type[M], list_all: Callable[[], dict[str, M]], save: Callable[[M], Path],
                 delete: Callable[[str], None], user_file: Callable[[str], Path | None],
                 parse: Callable[[str, str], dict] | None = None):
        self.model = model
        self._list = list_all
        self._save = save
        self._delete = delete
        self._user_file = user_file
        self._parse = parse or (lambda text, suffix: json.loads(text))

    def all(self) -> dict[str, M]:
        return self._list()

    def is_user(self, name: str) -> bool:
        return self._user_file(name) is not None

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
        try:
            return self._save(record)
        except ValueError as exc:  # the owner's PersonaError / ProfileError
            raise RecordError(str(exc)) from None

    def duplicate(self, name: str) -> M:
        """Save a copy of record `name` as `name-2` (or the next free number). Raises RecordError."""
        existing = self.all()
        if name not in existing:
            raise RecordError(f"there is no {name!r} to duplicate", "name")
        n = 2
        while f"{name}-{n}" in existing:
            n += 1
        copy = existing[name].model_copy(update={"name": f"{name}-{n}"})
        self.save(copy)
        return copy

    def delete(self, name: str) -> None:
        if not self.is_user(name):
            raise RecordError(f"{name!r} is built in and cannot be deleted (duplicate it to make your own)", "name")
        self._delete(name)

    def import_file(self, path: str | Path) -> M:
        """Read a record exported before (JSON or TOML) and save it. Raises RecordError."""
        path = Path(path)
        try:
            data = self._parse(path.read_text(encoding="utf-8"), path.suffix.lower())
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, TOMLDecodeError
            raise RecordError(f"not a readable {path.suffix or 'record'} file ({exc})") from None
        if not isinstance(data, dict):
            raise RecordError("the file does not hold one record")
        record = self.build(data)
        self.save(record)
        return record


def json_files(model: type[M], user_dir: Path, list_all: Callable[[], dict[str, M]]) -> RecordFiles[M]:
    """Records kept as `<user_dir>/<name>.json`, written atomically."""
    user_dir = Path(user_dir)

    def save(record: M) -> Path:
        path = user_dir / f"{check_name(getattr(record, 'name'))}.json"
        atomic_write_text(path, record.model_dump_json(indent=2))
        return path

    def user_file(name: str) -> Path | None:
        path = user_dir / f"{name}.json"
        return path if path.is_file() else None

    def delete(name: str) -> None:
        (user_dir / f"{check_name(name)}.json").unlink()

    return RecordFiles(model, list_all, save, delete, user_file)
