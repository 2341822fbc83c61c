"""`build_demo`: the whole web app as a `gr.Blocks`, built from shared services. Nothing happens at
import: no model loads, no server starts (app/ui/server.py launches it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gradio as gr

from app.conversation import Services
from app.limits import bounded
from app.settings import Settings
from app.ui.chat_tab import build_chat_tab
from app.ui.live import CSS as LIVE_CSS
from app.ui.context import Lazy, UIContext
from app.ui.persona_tab import build_persona_tab
from app.ui.profile_tab import build_profile_tab
from app.ui.tree_tab import build_tree_tab, tree_refresher

log = logging.getLogger(__name__)

# Passed to launch() (gradio 6 takes css and theme there, not in Blocks()).
CSS = """
.wc-badge { display:inline-block; padding:4px 12px; border-radius:999px; color:#fff; font-weight:600;
            text-shadow:0 1px 1px rgba(0,0,0,.35); }
.wc-error { color:#b00020; background:#fdecee; border-left:4px solid #b00020; padding:6px 10px;
            border-radius:4px; margin:4px 0; }
.wc-ok { color:#14532d; background:#e8f6ec; border-left:4px solid #15803d; padding:6px 10px; border-radius:4px; }
#reply-text { font-size:1.05em; }
.wc-emotion { font-size:.8em; font-weight:700; letter-spacing:.02em; }  /* a bubble's emotion (view.emotion_word) */
/* Empty message slots take no room. One simple selector per :has(): Gradio prefixes every
   selector of a list, also inside :has(), and `:has(.wc-error, .wc-ok)` then never matches. */
.wc-slot:not(:has(.wc-error)):not(:has(.wc-ok)) { display:none; }
.wc-writing { letter-spacing:.2em; opacity:.45; animation:wc-writing 1.2s ease-in-out infinite; }
@keyframes wc-writing { 50% { opacity:1; } }  /* the avatar's reply on its way (view.writing_bubble) */
#history button[aria-label="Clear"] { display:none; }  /* clearing the view would not clear the tree */
""" + LIVE_CSS


def build_demo(
    services: Services | Callable[[], Services],
    settings: Settings,
    *,
    asr: Callable[[], object] | None = None,
    listen_clip: str | None = None,
    listen: Callable[[object], str | None] | None = None,
    live: bool = True,
) -> gr.Blocks:
    """The app: Chat, Tree, Persona and Emotion profile tabs.

    services: the shared Services, or a factory called once here.
    asr: builds the speech recognizer on first use (None hides the microphone).
    listen_clip / listen: the avatar's listening video (see UIContext).
    live: play the avatar as one live stream per page (app/ui/live.py) where the avatar pipeline
        allows; False: the clip player only.
    """
    if callable(services) and not isinstance(services, Services):
        services = services()
    # the LLM and the avatar bounded by their own slots and timeouts: one slow call blocks nobody else
    services = bounded(services, settings)
    ctx = UIContext(services=services, settings=settings, asr=Lazy(asr), listen_clip=listen_clip, listen=listen)
    ctx.live = live_hooks(ctx) if live else None
    with gr.Blocks(title="warmchat") as demo:
        conv = gr.State(None)  # this browser session's Conversation
        gr.Markdown("## warmchat — talk with an emotion-aware avatar")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat") as chat_tab_item:
                chat = build_chat_tab(ctx, conv)
            with gr.Tab("Tree", id="tree") as tree_tab_item:
                tree = build_tree_tab(ctx, conv, chat.turn_outputs, chat.show)
            with gr.Tab("Persona", id="persona") as persona_tab_item:
                persona_load = build_persona_tab(ctx)
            with gr.Tab("Emotion profile", id="profile") as profile_tab_item:
                profile_load = build_profile_tab(ctx)
        refresh = tree_refresher(ctx)
        # the tree and timeline are drawn (matplotlib, ~0.2 s of CPU) after a turn only while the
        # Tree tab shows; otherwise when it is opened: a turn's CPU goes to the reply
        tree_shown = gr.State(False)
        for item, shown in ((chat_tab_item, False), (tree_tab_item, True), (persona_tab_item, False),
                            (profile_tab_item, False)):
            item.select(lambda shown=shown: shown, None, tree_shown, api_name=False, show_progress="hidden")

        def refresh_if_shown(conv, shown: bool, request: gr.Request = None) -> tuple:
            return refresh(conv, request) if shown else (gr.skip(),) * len(tree.outputs)

        for event in chat.turn_events:
            event.then(refresh_if_shown, [conv, tree_shown], tree.outputs, api_name=False, show_progress="hidden")
        tree_tab_item.select(refresh, [conv], tree.outputs, api_name=False)
        fn, inputs, outputs = chat.load
        demo.load(fn, inputs, outputs, api_name=False)
        if chat.live is not None:  # the page's live avatar stream: opened with the page, closed with it
            demo.load(ctx.live.open, None, [chat.live.html], api_name=False, show_progress="hidden")
            demo.unload(ctx.live.close)
        for fn, outputs in (persona_load, profile_load):
            demo.load(fn, None, outputs, api_name=False)
    demo.warmchat_live = ctx.live.hub if ctx.live is not None else None  # its WebSocket route: launch_options
    return demo


def live_hooks(ctx: UIContext):
    """The live stream's hooks, when the avatar pipeline can assemble a persona's pipeline."""
    from app.live import LiveHub
    from app.ui.live import LiveHooks

    avatar = ctx.services.avatar
    if avatar is None or not hasattr(avatar, "pipeline"):
        return None
    def pipeline_for(persona):  # the live stream draws smaller frames than clips and export
        return avatar.pipeline(persona, size=ctx.settings.render.live_size)

    hub = LiveHub(pipeline_for, asr=ctx.asr.get if ctx.asr.available else None)
    return LiveHooks(hub, pipeline_for, lambda: ctx.persona(ctx.settings.persona))
