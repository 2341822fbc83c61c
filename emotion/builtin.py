"""Built-in emotion profiles (assets/profiles/*.json) and user profiles that override them.

A profile's name is its file name without `.json`. Reading is done on each call (a handful of
small files); nothing is read at import time.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from emotion.profile import EmotionProfile, ProfileError, load_profile

log = logging.getLogger(__name__)

# A profile is chosen by name, never by path (a persona's emotion_profile comes from its file or a
# web form); the same rule as persona and record names.
PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def check_profile_name(name: object) -> str:
    """`name` when it is a profile name (1-40 lowercase letters, digits, - or _).

    Raises ProfileError (the name only, no path) otherwise.
    """
    if not isinstance(name, str) or not PROFILE_NAME.match(name):
        raise ProfileError(f"invalid emotion profile name {str(name)[:60]!r}: a profile name is 1-40 lowercase "
                           "letters, digits, - or _")
    return name


def _load(path: Path) -> EmotionProfile:
    """load_profile, naming a built-in file without the install path."""
    shown = f"built-in profile {path.name}" if path.parent == builtin_profiles_dir() else None
    return load_profile(path, shown)


def builtin_profiles_dir() -> Path:
    """The folder of the profiles shipped with warmchat (`assets/profiles` in the repository)."""
    return Path(__file__).resolve().parents[1] / "assets" / "profiles"


def _profile_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.json")) if p.is_file()}


def _all_files(user_dir: Path | None) -> dict[str, Path]:
    files = _profile_files(builtin_profiles_dir())
    if user_dir is not None:
        user_files = _profile_files(Path(user_dir))
        for name in user_files.keys() & files.keys():
            log.debug("user profile %s overrides the built-in one", user_files[name])
        files.update(user_files)
    return dict(sorted(files.items()))


def list_profiles(user_dir: Path | None = None) -> dict[str, EmotionProfile]:
    """All available profiles by name: the built-in ones, with files in `user_dir` (if given)
    overriding built-ins of the same name and adding new ones. A missing `user_dir` adds nothing.

    Raises:
        ProfileError: a profile file is unreadable or invalid (the message names file and field).
    """
    return {name: _load(path) for name, path in _all_files(user_dir).items()}


def scan_profiles(user_dir: Path | None = None) -> tuple[dict[str, EmotionProfile], list[ProfileError]]:
    """Like `list_profiles`, but a malformed file is left out and reported instead of raised:
    (every readable profile by name, one ProfileError per bad file naming the file and field).
    One broken file must not hide the others."""
    profiles: dict[str, EmotionProfile] = {}
    problems: list[ProfileError] = []
    for name, path in _all_files(user_dir).items():
        try:
            profiles[name] = _load(path)
        except ProfileError as exc:
            problems.append(exc)
    return profiles, problems


def get_profile(name: str, user_dir: Path | None = None) -> EmotionProfile:
    """The profile called `name` (a user file in `user_dir` wins over a built-in one).

    Raises:
        ProfileError: `name` is not a profile name (a path, say), no profile has that name (the
            message lists the known ones), or its file is unreadable or invalid.
    """
    check_profile_name(name)
    candidates = [Path(user_dir)] if user_dir is not None else []
    candidates.append(builtin_profiles_dir())
    for folder in candidates:
        path = folder / f"{name}.json"
        if path.is_file():
            return _load(path)
    known = sorted(_profile_files(builtin_profiles_dir()).keys() | (
        _profile_files(Path(user_dir)).keys() if user_dir is not None else set()))
    raise ProfileError(f"unknown emotion profile {name!r}; known: {', '.join(known) or '(none)'}")
