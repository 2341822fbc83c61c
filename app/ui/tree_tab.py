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

from app.conversation import Conversation
from app.errors import user_message
from app.ui.chat_tab import error_html, ok_html
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


def tree_views(ctx: UIContext, conv: Conversation | None) -> tuple:
    """(tree figure, timeline figure, node dropdown, summary) for the session's conversation.

    Waits for a turn in progress to finish (the tree must not change while it is drawn).
    """
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

    def continue_from(node_id: str | None, conv: Conversation | None) -> tuple:
        if conv is None or not node_id:
            return (conv,) + (gr.skip(),) * (len(chat_outputs) - 1)
        with ctx.turn_lock(conv.id):
            ctx.switch(conv, node_id)
            return show(conv)

    go.click(continue_from, [node, conv], chat_outputs, api_name=False).then(
        lambda c: tree_views(ctx, c), [conv], tab.outputs, api_name=False)
    export_btn.click(lambda c, progress=gr.Progress(): export(ctx, c, progress), [conv],
                     [files, export_status], api_name=False)
    return tab


def export(ctx: UIContext, conv: Conversation | None, progress: gr.Progress) -> tuple:
    """Export the current path with app.export (MP4, SRT, JSON, CSV), reporting progress."""
    if conv is None:
        return None, error_html("nothing to export yet: send a message first")
    try:
        from app.export import export_path
    except ImportError:
        return None, error_html("export is not available yet in this version")
    out_dir = Path(ctx.settings.data_dir) / "exports" / f"{conv.id}-{conv.current[:8]}"
    try:
        result = export_path(ctx.settings, conv.id, out_dir, node_id=conv.current,
                             pipeline=ctx.services.avatar,
                             progress=lambda fraction, desc="": progress(fraction, desc=desc))
    except Exception as exc:
        log.exception("export failed")
        return None, error_html(user_message(exc))
    paths = [str(p) for p in (result.mp4, result.srt, result.json, result.csv) if p]
    return paths, ok_html(f"exported {len(paths)} files to {out_dir}")
