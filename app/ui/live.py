"""The avatar's live stream in the web app: the panel, its WebSocket route, the chat's hooks.

The panel (`#live-panel`) shows a still of the avatar from the page's first load and, once the
stream plays, the live video over it (app/ui/live.js, loaded in the page head). The stream and
the microphone travel over one WebSocket per page at `LIVE_PATH` on the app's own server (no
WebRTC, no ICE: nothing but the page's own origin is contacted). Each page's `LiveSession`
(app/live.py) is opened by the page's load event and closed when the page goes; the session
token in the panel is the only way to its WebSocket. Where the stream cannot play, the page
says so and the clip player (`#avatar-video`) stays in use.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import gradio as gr

from app.live import LiveHub, LiveSession

log = logging.getLogger(__name__)

LIVE_PATH = "/warmchat/live"
SEND_LATE_S = 0.1  # a stream message sent this long after it was made is marked in the session's trace
# A microphone drawn inline: the emoji rendered as a box where no emoji font is installed (Debian).
MIC_ICON = ('<svg class="wc-mic-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" '
            'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">'
            '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>')
_JS = Path(__file__).with_name("live.js")

CSS = """
#live-panel { position:relative; }
#live-panel .wc-live-stage { position:relative; width:100%; aspect-ratio:1/1; max-height:360px; background:#111;
  border-radius:8px; overflow:hidden; display:flex; align-items:center; justify-content:center; }
#live-panel .wc-live-stage > * { position:absolute; inset:0; width:100%; height:100%; object-fit:contain; }
#live-panel .wc-live-wait { color:#ccc; position:static !important; width:auto !important; height:auto !important; }
#live-panel .wc-live-notice { font-size:.9em; color:#555; margin:4px 0; }
#live-panel .wc-live-heard { font-size:.9em; color:#333; margin:4px 0; }
#live-panel .wc-live-heard.wc-partial { color:#777; font-style:italic; }
#live-panel .wc-live-bar { display:flex; gap:8px; align-items:center; margin-top:6px; }
#live-panel .wc-live-state { font-size:.85em; color:#666; }
#live-panel .wc-live-state::after { content: attr(data-state); }
#live-mic { display:inline-flex; align-items:center; gap:6px; }
#live-mic.wc-on { background:#b00020; color:#fff; }
body.wc-live-on #avatar-video { display:none; }   /* the live stream replaces the clip player */
#live-send { display:none !important; }
"""


def head() -> str:
    """The page-head script that plays the live stream (app/ui/live.js)."""
    return f"<script>\n{_JS.read_text(encoding='utf-8')}\n</script>"


def panel_html(token: str = "", poster: str = "") -> str:
    """The panel: the avatar's still (a data: URL), the stage the live video goes on, controls."""
    still = f'<img class="wc-live-poster" alt="the avatar" src="{poster}">' if poster else \
        '<div class="wc-live-wait">connecting to the avatar…</div>'
    attr = f' data-live-token="{token}"' if token else ""
    return (f'<div class="wc-live"{attr}><div class="wc-live-stage">{still}</div>'
            '<div class="wc-live-notice" hidden></div><div class="wc-live-heard" hidden></div>'
            f'<div class="wc-live-bar"><button id="live-mic" type="button" class="lg secondary sm">{MIC_ICON}'
            '<span class="wc-mic-label">Talk hands-free</span></button>'
            '<span class="wc-live-state" data-state="idle">avatar: </span></div></div>')


@dataclass
class LivePanel:
    html: gr.HTML
    send: gr.Button  # clicked by the page with a transcript in the message box


def build_live_panel() -> LivePanel:
    """The panel's components, laid out where it is called (above the clip player)."""
    html = gr.HTML(panel_html(), elem_id="live-panel")
    send = gr.Button("send what was heard", elem_id="live-send", size="sm")
    return LivePanel(html, send)


class LiveHooks:
    """What the Gradio side does with live sessions: open one per page, close it with the page,
    and give a chat turn its sink. `hub` None: no live stream (text-only app)."""

    def __init__(self, hub: LiveHub | None, pipeline_for, default_persona):
        self.hub = hub
        self.pipeline_for = pipeline_for  # persona -> AvatarPipeline
        self.default_persona = default_persona  # () -> Persona

    def open(self, request: gr.Request) -> str:
        """demo.load: this page's live session and the panel with its token and a still."""
        if self.hub is None or request is None:
            return panel_html()
        try:
            live = self.hub.open(request.session_hash, self.default_persona(), owner=_owner_digest(request))
            return panel_html(live.token, _still(live))
        except Exception:  # no avatar: the panel says the stream is unavailable, the chat goes on
            log.exception("live session failed to open")
            return panel_html()

    def close(self, request: gr.Request) -> None:
        """demo.unload: the page went away."""
        if self.hub is not None and request is not None:
            self.hub.close(request.session_hash)

    def session(self, request: gr.Request | None) -> LiveSession | None:
        if self.hub is None or request is None:
            return None
        return self.hub.of(request.session_hash)

    def turn_sink(self, request: gr.Request | None, persona):
        """The sink of a chat turn on this page's stream (None: the page plays clips)."""
        live = self.session(request)
        if live is None:
            return None
        try:
            live.use(self.pipeline_for(persona))
        except Exception:  # the persona's avatar cannot be built: this turn plays clips
            log.exception("live stream cannot show persona %s", getattr(persona, "name", persona))
            return None
        return live.turn_sink()

    def follow(self, request: gr.Request | None, drafter, history: bool = True) -> None:
        """This page's conversation changed: `drafter(text)` now evaluates its next reply's prompt
        ahead (app.conversation.prefill_reply; `history`: LiveSession.prefill_with). Opens the
        page's live session if the page's load event has not yet."""
        if self.hub is None or request is None:
            return
        try:
            live = self.hub.open(request.session_hash, self.default_persona(), owner=_owner_digest(request))
        except Exception:  # no live session: nothing to prefill for
            log.exception("live session failed to open")
            return
        live.prefill_with(drafter, history)

    def typing(self, on: bool, request: gr.Request | None) -> None:
        live = self.session(request)
        if live is not None:
            live.presence.listen(on)


def _owner_digest(request: gr.Request) -> str | None:
    """The digest of the page's owner cookie (app.access), None when it has none."""
    from app.access import NoSuchConversation, owner_of

    try:
        return owner_of(request).digest
    except NoSuchConversation:
        return None


def _still(live: LiveSession) -> str:
    """A neutral frame of the session's avatar as a JPEG data: URL (shown until the video plays)."""
    import cv2

    from avatar.motion.clip import MotionClip

    frame = live.pipeline.renderer.render_frame(MotionClip.still(1), 0)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii") if ok else ""


def routes(hub: LiveHub) -> list:
    """The live WebSocket route, for `launch(app_kwargs={"routes": ...})`."""
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def endpoint(ws: WebSocket) -> None:
        live = hub.may_connect(ws.query_params.get("token"), ws)  # the page's token and owner cookie
        origin = ws.headers.get("origin")
        if live is None or (origin and urlparse(origin).netloc != ws.headers.get("host")):
            await ws.close(code=4403)  # unknown session, or a page of another site
            return
        await ws.accept()
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()

        def send(item: object) -> None:  # called from the stream and microphone threads
            try:
                loop.call_soon_threadsafe(out.put_nowait, (time.monotonic(), item))
            except RuntimeError:  # the loop is gone (server shutting down)
                pass

        async def pump() -> None:
            while True:
                queued, item = await out.get()
                late = time.monotonic() - queued
                if late > SEND_LATE_S:  # the server's event loop held the stream back (bench/live.py reads it)
                    live.mark("send_late", seconds=late)
                if isinstance(item, bytes):
                    await ws.send_bytes(item)
                else:
                    await ws.send_text(json.dumps(item))

        await asyncio.to_thread(live.connect, send)
        sender = asyncio.create_task(pump())
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg.get("bytes") is not None:
                    await asyncio.to_thread(live.hear, msg["bytes"])
                elif msg.get("text") is not None:
                    live.on_message(json.loads(msg["text"]))
        except (WebSocketDisconnect, json.JSONDecodeError):
            pass
        finally:
            sender.cancel()
            await asyncio.to_thread(live.disconnect)

    return [WebSocketRoute(LIVE_PATH, endpoint)]
