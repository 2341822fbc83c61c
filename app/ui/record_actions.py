"""Duplicate and delete handlers shared by the Persona and Emotion profile tabs."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from app.ui.chat_tab import error_html
from app.ui.records import RecordError, RecordFiles


def duplicate_handler(files: RecordFiles, choices: Callable, kind: str) -> Callable:
    """A click handler: copy the selected record as `name-N`; returns (picker, status html)."""

    def duplicate(selected: str | None):
        if not selected:
            return gr.skip(), error_html(f"pick a {kind} to duplicate")
        try:
            copy = files.duplicate(selected)
        except RecordError as exc:
            return gr.skip(), error_html(str(exc))
        return choices(copy.name), f'<div class="wc-ok">duplicated as “{copy.name}”</div>'

    return duplicate


def delete_handler(files: RecordFiles, choices: Callable) -> Callable:
    """A click handler: delete the selected user record (built-ins refused); (picker, status html)."""

    def delete(selected: str | None):
        try:
            files.delete(selected or "")
        except (RecordError, ValueError) as exc:
            return gr.skip(), error_html(str(exc))
        return choices(None), f'<div class="wc-ok">deleted “{selected}”</div>'

    return delete
