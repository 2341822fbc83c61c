"""Duplicate and delete handlers and the malformed-files line shared by the Persona and Emotion
profile tabs."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from app.ui.chat_tab import error_html, ok_html
from app.ui.records import RecordError, RecordFiles


def problems_html(kind: str, problems: list[str]) -> str:
    """The status line naming files that were left out because they are malformed ("" if none)."""
    if not problems:
        return ""
    return error_html(f"{len(problems)} {kind} file(s) could not be read and are left out: " + "; ".join(problems))


def duplicate_handler(files: RecordFiles, choices: Callable, kind: str) -> Callable:
    """A click handler: copy the selected record as `name-N`; returns (picker, status html)."""

    def duplicate(selected: str | None):
        if not selected:
            return gr.skip(), error_html(f"pick a {kind} to duplicate")
        try:
            copy = files.duplicate(selected)
        except RecordError as exc:
            return gr.skip(), error_html(str(exc))
        return choices(copy.name), ok_html(f"duplicated as “{copy.name}”")

    return duplicate


def delete_handler(files: RecordFiles, choices: Callable) -> Callable:
    """A click handler: delete the selected user record (built-ins refused); (picker, status html)."""

    def delete(selected: str | None):
        try:
            files.delete(selected or "")
        except (RecordError, ValueError) as exc:
            return gr.skip(), error_html(str(exc))
        return choices(None), ok_html(f"deleted “{selected}”")

    return delete
