"""Personas: who the avatar is (prompt, greeting, voice, look, temperament), as TOML files.

Built-in personas live in assets/personas/*.toml. A user's personas are files `<name>.toml` in
their personas dir (Settings.personas_dir) and override a built-in of the same name. Every file is
validated; a malformed one raises PersonaError naming the file and the field.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from avatar.voice.base import VoiceSettings
from dialogue.llm.base import PersonaBrief

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "assets" / "personas"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"  # also the UI's rule for every record name


class PersonaError(ValueError):
    """A persona is missing, unreadable or invalid; the message names the file and the field."""


class PersonaLLM(BaseModel):
    """Per-persona LLM overrides; None keeps the value from the LLM settings."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=16, le=4096)


class Persona(BaseModel):
    """A persona.

    name: the id (lowercase letters, digits, - and _; it is also the file name).
    avatar: a built-in avatar name ("astronaut", "hopper", "stylized") or the file name of a portrait in
        the data dir's avatars/ folder (uploaded in the Persona tab); nothing outside it is read
        (app.access.avatar_source).
    emotion_profile: an emotion profile name ("warm", "calm", "cheerful", "reserved").
    motion_style: a talking style made with `warmchat mimic VIDEO --name STYLE` ("" = the default).
    fallback: the line said when the LLM's reply has nothing usable ("" = a generic line).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=2000)
    system_prompt: str = Field(min_length=1, max_length=8000)
    greeting: str = Field("", max_length=1000)
    fallback: str = Field("", max_length=300)
    voice: VoiceSettings = VoiceSettings()
    avatar: str = Field("stylized", min_length=1)
    emotion_profile: str = Field("warm", pattern=NAME_PATTERN)  # a name, never a path
    motion_style: str = Field("", max_length=64)  # a talking style learned by `warmchat mimic` ("" = default)
    llm: PersonaLLM = PersonaLLM()

    def brief(self) -> PersonaBrief:
        """What the LLM needs of this persona."""
        return PersonaBrief(
            name=self.display_name,
            description=self.description,
            system_prompt=self.system_prompt,
            temperature=self.llm.temperature,
            max_tokens=self.llm.max_tokens,
            model=self.llm.model,
            fallback=self.fallback,
        )


def _field_error(path: Path, exc: ValidationError) -> PersonaError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(root)"
    return PersonaError(f"{path}: field {field}: {first['msg']}")


def load_persona_file(path: Path) -> Persona:
    """Read and validate one persona file. Its `name` must match the file name.

    Raises PersonaError naming the file (and the field when the content is invalid).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError(f"{path}: cannot read persona ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"{path}: not valid TOML ({exc})") from exc
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        raise _field_error(path, exc) from exc
    if persona.name != path.stem:
        raise PersonaError(f"{path}: field name: {persona.name!r} does not match the file name {path.stem!r}")
    return persona


def _check_name(name: str) -> str:
    if not re.match(NAME_PATTERN, name or ""):
        raise PersonaError(f"invalid persona name {name!r}: use 1-40 lowercase letters, digits, - or _ (starting with a letter or digit)")
    return name


def _files(directory: Path | None) -> dict[str, Path]:
    if directory is None or not Path(directory).is_dir():
        return {}
    return {p.stem: p for p in sorted(Path(directory).glob("*.toml"))}


def scan_personas(user_dir: Path | None = None) -> tuple[list[Persona], list[PersonaError]]:
    """Every readable persona (user files overriding built-ins of the same name, sorted by name)
    and one PersonaError per malformed file (its message names the file and the field), so a
    caller can show what is wrong while the other personas stay usable."""
    files = _files(BUILTIN_DIR) | _files(user_dir)
    personas, problems = [], []
    for name, path in sorted(files.items()):
        try:
            personas.append(load_persona_file(path))
        except PersonaError as exc:
            problems.append(exc)
    return personas, problems


def list_personas(user_dir: Path | None = None) -> list[Persona]:
    """Every persona, user files overriding built-ins of the same name, sorted by name.

    A malformed file is left out with a warning naming the file and field (one broken file must
    not hide the others; `scan_personas` also returns the errors); `get_persona` on its name
    raises the PersonaError.
    """
    personas, problems = scan_personas(user_dir)
    for problem in problems:
        log.warning("skipping persona: %s", problem)
    return personas


def get_persona(name: str, user_dir: Path | None = None) -> Persona:
    """The persona `name` (the user's file first, then the built-in).

    Raises PersonaError when it does not exist or its file is malformed.
    """
    _check_name(name)
    for directory in (user_dir, BUILTIN_DIR):
        path = _files(directory).get(name)
        if path is not None:
            return load_persona_file(path)
    known = ", ".join(p.name for p in list_personas(user_dir))
    raise PersonaError(f"unknown persona {name!r}; known: {known}")


def persona_profile(persona: Persona, profiles_dir: Path | None = None):
    """The emotion profile `persona` names (the user's file in `profiles_dir` first).

    Raises PersonaError naming the persona, the profile and what to do when that profile is
    missing or malformed: the CLI and the web app refuse such a persona the same way.
    """
    from emotion.builtin import get_profile
    from emotion.profile import ProfileError

    try:
        return get_profile(persona.emotion_profile, profiles_dir)
    except ProfileError as exc:
        raise PersonaError(f"persona {persona.name!r} uses the emotion profile {persona.emotion_profile!r}, which "
                           f"cannot be used ({exc}): pick another profile for it in the Persona tab, or set "
                           "emotion_profile in its file") from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are valid TOML
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(persona: Persona) -> str:
    """The persona as TOML text (top-level fields, then the [voice] and [llm] tables)."""
    data = persona.model_dump(mode="json", exclude_none=True)
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table, values in data.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def save_persona(persona: Persona, user_dir: Path) -> Path:
    """Write the persona to `<user_dir>/<name>.toml` atomically (it then overrides a built-in of
    the same name). Returns the file's path."""
    user_dir = Path(user_dir)
    user_dir.mkdir(parents=True, exist_ok=True)
    path = user_dir / f"{_check_name(persona.name)}.toml"
    fd, tmp = tempfile.mkstemp(dir=user_dir, prefix=f".{persona.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(to_toml(persona))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def delete_persona(name: str, user_dir: Path) -> None:
    """Delete the user's persona file `name` (a built-in of that name shows again).

    Raises PersonaError for a built-in without a user file (built-ins cannot be deleted) or an
    unknown name.
    """
    path = Path(user_dir) / f"{_check_name(name)}.toml"
    if path.is_file():
        path.unlink()
        return
    if name in _files(BUILTIN_DIR):
        raise PersonaError(f"persona {name!r} is built in and cannot be deleted")
    raise PersonaError(f"unknown persona {name!r}")
