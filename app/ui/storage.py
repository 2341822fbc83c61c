"""Files the UI writes (personas, profiles, portraits) and the portrait check before saving one.

Every write goes to a temporary file in the same folder and is then renamed over the target, so a
failed save leaves the old file as it was.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

from app.personas import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)  # the persona model's own rule: a name the UI accepts also saves


def check_name(name: str) -> str:
    """A file-safe record name (lowercase letters, digits, - and _; 1-40 characters).

    Raises ValueError with a message for people.
    """
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValueError("use 1-40 lowercase letters, digits, - or _ (starting with a letter or digit)")
    return name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename (the old file survives a failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_portrait(path: str | Path) -> None:
    """Refuse a portrait the renderer cannot animate, with the renderer's own face analysis
    (avatar.face: one face, large enough, frontal).

    Raises:
        avatar.face.landmarks.PortraitError: the reason, written for people (also for an
            unreadable file).
    """
    from avatar.face.landmarks import detect_landmarks
    from avatar.face.portrait import load_image

    detect_landmarks(load_image(path))
