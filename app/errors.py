"""Turning exceptions into one clear line for people (CLI and UI)."""

from __future__ import annotations

# Errors whose message is already written for users: shown as they are.
_USER_FACING = ("InputError", "LLMError", "AudioError", "PortraitError", "VideoError", "PersonaError",
                "ProfileError", "TreeError", "StoreError", "ImportFormatError", "ServeError", "TTSError",
                "SettingsError", "RecordError", "BusyError", "NoSuchConversation")


def user_message(exc: BaseException) -> str:
    """The message to show for `exc`: its own text for user-facing errors, else type and text."""
    name = type(exc).__name__
    text = str(exc) or name
    if name in _USER_FACING or isinstance(exc, (FileNotFoundError, PermissionError)):
        return text
    return f"{name}: {text} (run with -v for details)"
