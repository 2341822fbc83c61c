"""The Tree tab: the conversation tree drawn (emotion colours, speaker shapes, current path in bold),
a node picker to continue from any node (a dropdown: clicking inside a matplotlib figure is not
possible in gr.Plot), the emotion timeline of the current path, and the export of that path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from app.access import NoSuchConversation, private_folder
from app.conversation import Conversation
from app.errors import user_message
from app.ui.chat_tab import error_html, ok_html, refused
from app.ui.context import UIContext
from app.ui.tree_plot import draw_timeline, draw_tree
from app.ui.view import node_choices

log = logging.getLogger(__name__)


@dataclass
class TreeTab:
    tree_plot: gr.Plot
    timeline: gr.Plot
    node: gr.Dropdown
    summary: gr.Markdown

    @property
    def outputs(self) -> list:
        return [self.tree_plot, self.timeline, self.node, self.summary]


def tree_views(ctx: UIContext, conv: Conversation | None, request=None) -> tuple:
    """(tree figure, timeline figure, node dropdown, summary) for the session's conversation.

    request: when given, the conversation is drawn only if its owner cookie owns it.
    Waits for a turn in progress to finish (the tree must not change while it is drawn).
    """
    if conv is not None and request is not None:
        try:
            ctx.check_owner(conv.id, request)
        except NoSuchConversation:
            conv = None
    if conv is None:
        return None, None, gr.Dropdown(choices=[], value=None), "*No conversation yet: send a message first.*"
    with ctx.turn_lock(conv.id):
        tree = conv.tree
        turns = tree.turns()
        depth = {t.id: len(tree.path_to(t.id)) - 1 for t in turns}
        n_branches = len(tree.branches())
        path = conv.path()
        summary = (f"**{tree.title}** — {len(turns)} turns, {n_branches} branch"
                   f"{'es' if n_branches != 1 else ''}; current path: {len(path)} turns.")
        return (draw_tree(tree, conv.current), draw_timeline(path),
                gr.Dropdown(choices=node_choices(turns, depth), value=conv.current), summary)


def tree_refresher(ctx: UIContext) -> Callable:
    """The handler (conv, request) -> tree_views outputs, checking the request's owner."""

    def refresh(conv: Conversation | None, request: gr.Request = None) -> tuple:
        return tree_views(ctx, conv, request)

    return refresh


def build_tree_tab(ctx: UIContext, conv: gr.State, chat_outputs: list, show: Callable) -> TreeTab:
    """Lay out the Tree tab; `show(conv)` gives the chat tab's outputs after a switch."""
    summary = gr.Markdown("", elem_id="tree-summary")
    tree_plot = gr.Plot(label="Conversation tree (■ you, ● avatar; colour = emotion)", elem_id="tree-plot")
    with gr.Row():
        node = gr.Dropdown(label="Continue from node", choices=[], scale=4, elem_id="node-pick")
        go = gr.Button("Continue from here", scale=1, elem_id="continue")
    timeline = gr.Plot(label="Emotion along the current path", elem_id="timeline")
    with gr.Accordion("Export this path", open=False):
        export_btn = gr.Button("Export MP4 + subtitles + transcript", elem_id="export")
        export_status = gr.HTML("", elem_classes="wc-slot")
        files = gr.File(label="Download", file_count="multiple", interactive=False)
    tab = TreeTab(tree_plot, timeline, node, summary)

    def continue_from(node_id: str | None, conv: Conversation | None, request: gr.Request = None) -> tuple:
        if conv is None or not node_id:
            return (conv,) + (gr.skip(),) * (len(chat_outputs) - 1)
        try:
            ctx.check_owner(conv.id, request)
        except NoSuchConversation as exc:
            return refused(len(chat_outputs), str(exc))
        with ctx.turn_lock(conv.id):
            try:
                ctx.switch(conv, node_id)
            except ValueError as exc:  # TreeError: not a node of this conversation
                return refused(len(chat_outputs), f"no such node: {exc}")
            return show(conv)

    def export_current(conv: Conversation | None, request: gr.Request = None, progress=gr.Progress()) -> tuple:
        return export(ctx, conv, progress, request)

    go.click(continue_from, [node, conv], chat_outputs, api_name=False).then(
        tree_refresher(ctx), [conv], tab.outputs, api_name=False)
    export_btn.click(export_current, [conv], [files, export_status], api_name="export",
                     concurrency_id="export", concurrency_limit=1)
    return tab


def export(ctx: UIContext, conv: Conversation | None, progress: gr.Progress, request=None) -> tuple:
    """Export the current path with app.export (MP4, SRT, JSON, CSV), reporting progress.

    request: when given, only a conversation its owner cookie owns is exported. The files go to
    `<data dir>/exports/<private folder>/<node>/` (app.access.private_folder), handed out by gradio.
    """
    if conv is not None and request is not None:
        try:
            ctx.check_owner(conv.id, request)
        except NoSuchConversation as exc:
            return None, error_html(str(exc))
    if conv is None:
        return None, error_html("nothing to export yet: send a message first")
    try:
        from app.export import export_path
    except ImportError:
        return None, error_html("export is not available yet in this version")
    out_dir = Path(ctx.settings.data_dir) / "exports" / private_folder(ctx.settings.data_dir, conv.id) / conv.current
    try:
        result = export_path(ctx.settings, conv.id, out_dir, node_id=conv.current,
                             pipeline=ctx.services.avatar,
                             progress=lambda fraction, desc="": progress(fraction, desc=desc))
    except Exception as exc:
        log.exception("export failed")
        return None, error_html(user_message(exc))
    paths = [str(p) for p in (result.mp4, result.srt, result.json, result.csv) if p]
    # the server's folders are not shown: the files are offered for download below
    return paths, ok_html(f"exported {len(paths)} files: download them below")
