"""The one settings object: per-package sections, from env vars (WARMCHAT_*) and a TOML file.

Precedence, highest first: explicit arguments, environment (`WARMCHAT_LLM__BACKEND=openai`;
nested fields joined by `__`), the TOML file (`WARMCHAT_CONFIG`, else `<config dir>/warmchat.toml`),
defaults. Per-request changes are made with `settings.model_copy(update=...)`, never in place.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from avatar.settings import MotionSettings, RenderSettings, TTSSettings
from dialogue.settings import ASRSettings, LLMSettings


def default_data_dir() -> Path:
    """WARMCHAT_DATA_DIR, else the XDG user data dir (~/.local/share/warmchat)."""
    env = os.environ.get("WARMCHAT_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("warmchat", appauthor=False))


def default_config_file() -> Path:
    env = os.environ.get("WARMCHAT_CONFIG")
    return Path(env) if env else Path(platformdirs.user_config_dir("warmchat", appauthor=False)) / "warmchat.toml"


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the file (or variable) and the field."""


class ServerSettings(BaseModel):
    """The web app. username/password enable login (required when host is not loopback).

    Sessions are independent (app/limits.py): quick UI requests run at once; at most
    `turn_concurrency` replies stream at a time; the LLM and the avatar renderer each serve
    `llm_slots` / `avatar_slots` callers at once, and a caller that gets no slot within
    `busy_wait_s` is told it is busy instead of waiting without end.
    """

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    username: str = ""
    password: str = ""
    turn_concurrency: int = Field(8, ge=1, le=256)
    llm_slots: int = Field(2, ge=1, le=64)
    avatar_slots: int = Field(1, ge=1, le=64)
    busy_wait_s: float = Field(30.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARMCHAT_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    persona: str = "ada"  # default persona name
    max_message_chars: int = Field(2000, ge=1, le=100_000)
    # the person's feeling read by the trained classifier over sentence embeddings (about 250 MB
    # more memory, ~15 ms a message; app.text_emotion); false: by the word lexicon alone
    learned_feelings: bool = True
    llm: LLMSettings = LLMSettings()
    asr: ASRSettings = ASRSettings()
    tts: TTSSettings = TTSSettings()
    motion: MotionSettings = MotionSettings()
    render: RenderSettings = RenderSettings()
    server: ServerSettings = ServerSettings()

    def __init__(self, **values: object) -> None:
        """Build from `values`, the environment and the TOML file.

        Raises:
            SettingsError: the TOML file is not valid TOML, or a value (from the file, the
                environment or `values`) is invalid; the message names the file and the field.
        """
        try:
            super().__init__(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(root)"
            env = "WARMCHAT_" + "__".join(str(p) for p in first["loc"]).upper()
            raise SettingsError(f"invalid setting {field} ({first['msg']}): check {default_config_file()} "
                                f"and the environment variable {env}") from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = default_config_file()
        try:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read the configuration file ({exc})") from None
        return (init_settings, env_settings, toml)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "conversations.sqlite3"

    @property
    def personas_dir(self) -> Path:
        return self.data_dir / "personas"

    @property
    def profiles_dir(self) -> Path:
        return self.data_dir / "profiles"

    @property
    def avatars_dir(self) -> Path:
        return self.data_dir / "avatars"

    @property
    def styles_dir(self) -> Path:
        """Talking styles learned by `warmchat mimic`."""
        return self.data_dir / "styles"
