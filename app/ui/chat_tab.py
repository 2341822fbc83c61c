"""The Chat tab: the avatar video, its reply and emotion, the history, typing or speaking, and the
tree controls (regenerate, edit, switch branch), plus the conversation picker.

Every handler takes the session's `Conversation` from `gr.State` and returns it, so sessions never
share one. A turn streams: the history grows sentence by sentence and the video shows each segment
as it is rendered (paced so segments play one after another, see app/ui/pump.py).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gradio as gr
import numpy as np

from app.access import NoSuchConversation
from app.conversation import Conversation, draft_feeling, evaluate_prompt, prefill_reply
from app.errors import user_message
from app.turn_events import InputError, RecordedVoice, ReplyMedia, ReplySaved, ReplySentence, TurnFailed, UserTurnSaved
from app.ui.context import UIContext
from app.ui.live import LivePanel, build_live_panel
from app.ui.pump import stream_paced
from app.ui.view import (branch_choices, chat_messages, conversation_label, emotion_badge, user_turn_choices,
                         writing_bubble)
from dialogue.turns import Speaker

log = logging.getLogger(__name__)

RECORDING_RATE = 16000  # Hz of read_recording's output
TURN_TIMEOUT_S = 300.0  # the longest wait for the next event of a turn (a slow LLM on 2 cores)


def error_html(message: str) -> str:
    """A visible error line (role=alert) for the status area under a field."""
    return f'<div class="wc-error" role="alert">⚠ {html.escape(message)}</div>'


def ok_html(message: str) -> str:
    """A visible success line (role=status) for the status area under a field."""
    return f'<div class="wc-ok" role="status">✓ {html.escape(message)}</div>'


@dataclass
class ChatTab:
    conv: gr.State
    chatbot: gr.Chatbot
    video: gr.Video
    badge: gr.HTML
    reply: gr.Markdown
    status: gr.HTML
    text: gr.Textbox
    branch: gr.Dropdown
    edit_pick: gr.Dropdown
    picker: gr.Dropdown
    turn_events: list  # events after which the tree views must be refreshed
    load: tuple = ()  # (fn, inputs, outputs) for demo.load
    live: LivePanel | None = None  # the live avatar stream's panel (app/ui/live.py)
    show: Callable | None = None  # (conv) -> turn_outputs values for the current node

    @property
    def turn_outputs(self) -> list:
        return [self.conv, self.chatbot, self.video, self.badge, self.reply, self.status, self.text]


def build_chat_tab(ctx: UIContext, conv: gr.State) -> ChatTab:
    """Lay out the Chat tab inside the current gr.Tab and wire its events.

    Every handler that touches a conversation checks that the request's owner cookie owns it
    (app/access.py); the conversation picker lists only the caller's own conversations.
    Turn events share the "turn" concurrency group (ctx.settings.server.turn_concurrency), so a
    reply that waits on a slow backend never holds up other sessions' clicks.
    """
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            # the live avatar (one continuous stream); the clip player below is its fallback
            live = build_live_panel() if ctx.live is not None else None
            video = gr.Video(label="Avatar", autoplay=True, interactive=False, height=360,
                             elem_id="avatar-video", buttons=[])
            badge = gr.HTML(emotion_badge(None), elem_id="emotion-badge")
            reply = gr.Markdown("", elem_id="reply-text")
            with gr.Accordion("Conversations", open=False):
                # any id reaches the handler, which decides on the server (app/access.py)
                picker = gr.Dropdown(label="Saved conversations", choices=[], elem_id="conv-picker",
                                     allow_custom_value=True)
                with gr.Row():
                    open_btn = gr.Button("Open", size="sm")
                    persona_dd = gr.Dropdown(label="Persona for a new conversation", choices=[],
                                             elem_id="new-persona")
                    new_btn = gr.Button("New conversation", size="sm", elem_id="new-conv")
        with gr.Column(scale=3, min_width=360):
            chatbot = gr.Chatbot(label="Conversation (current branch)", height=380, elem_id="history",
                                 feedback_options=None, buttons=["copy"])
            status = gr.HTML("", elem_id="chat-status", elem_classes="wc-slot")
            with gr.Row():
                text = gr.Textbox(placeholder="Type a message and press Enter", show_label=False, scale=5,
                                  lines=1, max_lines=6, elem_id="message")
                send_btn = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            # type="filepath": the recording is decoded by dialogue.asr (one conversion for every
            # audio input, a clear message for an empty or corrupt one), not by Gradio.
            mic = gr.Audio(sources=["microphone"], type="filepath", label="…or speak", elem_id="mic",
                           visible=ctx.asr.available)
            with gr.Row():
                regen_btn = gr.Button("↻ Regenerate reply", size="sm", elem_id="regenerate")
                branch = gr.Dropdown(label="Branch", choices=[], scale=3, elem_id="branch")
            with gr.Row():
                edit_pick = gr.Dropdown(label="Edit one of your messages", choices=[], scale=2, elem_id="edit-pick")
                edit_text = gr.Textbox(label="New text", scale=3, elem_id="edit-text")
                edit_btn = gr.Button("Edit → new branch", size="sm", scale=1, elem_id="edit")

    tab = ChatTab(conv, chatbot, video, badge, reply, status, text, branch, edit_pick, picker, [], live=live)
    h = _Handlers(ctx)
    outs = tab.turn_outputs
    controls = [branch, edit_pick, picker]
    # a turn's progress shows on the history only: the avatar's video is never covered or blanked
    turn = {"concurrency_id": "turn", "concurrency_limit": ctx.settings.server.turn_concurrency,
            "show_progress_on": [chatbot]}
    tab.turn_events = [
        send_btn.click(h.send, [text, conv], outs, api_name="send", **turn),
        text.submit(h.send, [text, conv], outs, api_name=False, **turn),
        regen_btn.click(h.regenerate, [conv], outs, api_name="regenerate", **turn),
        edit_btn.click(h.edit, [edit_pick, edit_text, conv], outs, api_name="edit", **turn),
        branch.input(h.switch, [branch, conv], outs, api_name="switch_branch", show_progress_on=[chatbot]),
        open_btn.click(h.open, [picker, conv], outs, api_name="open_conversation", show_progress_on=[chatbot]),
        new_btn.click(h.new, [persona_dd, conv], outs, api_name=False, show_progress_on=[chatbot]),
    ]
    if live is not None:  # a hands-free turn: the page sends what the live stream's microphone heard
        # "multiple": what is heard while a turn still runs (the person spoke while the avatar thought)
        # is queued behind it; Gradio's default ("once") dropped it, and the utterance went unanswered
        tab.turn_events.append(live.send.click(h.send_heard, [text, conv], outs, api_name=False,
                                               trigger_mode="multiple", **turn))
        text.focus(h.typing, None, None, api_name=False, show_progress="hidden")
        text.blur(h.not_typing, None, None, api_name=False, show_progress="hidden")
    for event in tab.turn_events:
        event.then(h.controls, [conv], controls, api_name=False)
    text.focus(h.listening, [conv], [video], api_name=False, show_progress="hidden")
    edit_pick.input(h.edit_text, [edit_pick, conv], [edit_text], api_name=False, show_progress="hidden")
    mic.start_recording(h.listening, [conv], [video], api_name=False, show_progress="hidden")
    # the recording is cleared once read, so the next message can be recorded straight away
    voice = gr.State(None)  # the last recording (16 kHz mono), kept as the spoken turn's voice
    mic.stop_recording(h.transcribe_voice, [mic], [text, status, mic, voice], api_name=False, concurrency_id="asr",
                       concurrency_limit=1).success(
        h.send_spoken, [text, voice, conv], outs, api_name=False, **turn).then(
        h.controls, [conv], controls, api_name=False)
    tab.show = h.show
    tab.load = (h.on_load, [conv], outs + controls + [persona_dd])
    return tab


def refused(n_outputs: int, message: str = "no such conversation") -> tuple:
    """The turn outputs for a request that does not own the session's conversation: nothing
    of it is shown or changed, only the message (in the status slot, 6th of 7)."""
    out = [gr.skip()] * n_outputs
    out[5] = error_html(message)
    return tuple(out)


class _Handlers:
    """Event handlers. Per-session data comes in as arguments; `ctx` is only read."""

    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    # --- turns ---------------------------------------------------------------------------------

    def owned(self, conv: Conversation | None, request) -> Conversation | None:
        """`conv` when the request's owner cookie owns it (or None when there is none yet).

        Raises NoSuchConversation otherwise (a session state reached with another owner cookie).
        """
        if conv is not None:
            self.ctx.check_owner(conv.id, request)
        return conv

    def send(self, text: str, conv: Conversation | None, request: gr.Request = None) -> Iterator[tuple]:
        """Send a message; streams (conv, history, video, badge, reply, status, textbox)."""
        yield from self._send(text, None, conv, request)

    def send_spoken(self, text: str, voice: np.ndarray | None, conv: Conversation | None,
                    request: gr.Request = None) -> Iterator[tuple]:
        """Send the transcript of a recording, keeping the recording (16 kHz mono) as the turn's voice."""
        yield from self._send(text, voice, conv, request)

    def _send(self, text: str, voice: np.ndarray | None, conv: Conversation | None, request) -> Iterator[tuple]:
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation as exc:
            yield refused(7, str(exc))
            return
        if not (text or "").strip():  # before a conversation is started for nothing
            yield conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_html("the message is empty"), gr.skip()
            return
        try:
            conv = self.ctx.open_or_start(conv, owner=request)
        except NoSuchConversation as exc:  # no owner cookie: nobody to save a conversation for
            yield refused(7, f"{exc}: this browser has no owner cookie (enable cookies)")
            return
        except ValueError as exc:  # PersonaError: a missing persona or emotion profile
            yield conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_html(user_message(exc)), gr.skip()
            return
        recorded = RecordedVoice(np.asarray(voice, np.float32), RECORDING_RATE) if voice is not None else None
        self._follow(conv, request, history=False)  # perhaps started for this message: prefills use it
        yield from self._turn(conv, lambda: conv.send(text, voice=recorded), request=request)

    def regenerate(self, conv: Conversation | None, request: gr.Request = None) -> Iterator[tuple]:
        """A new reply to the last message: a sibling of the current reply, or, when the last
        reply failed (the current turn is the person's), the missing reply."""
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation as exc:
            yield refused(7, str(exc))
            return
        if conv is None or len(conv.path()) < 2:
            yield (conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                   error_html("send a message first: there is no reply to regenerate yet"), gr.skip())
            return
        current = conv.tree.get(conv.current)
        if current.speaker is Speaker.USER:
            # Retry after a failed reply: regenerate() answers the kept, unanswered turn.
            yield from self._turn(conv, conv.regenerate, base_id=current.id, request=request)
            return
        # the new reply follows the same user turn: the history shown while it streams ends there
        yield from self._turn(conv, conv.regenerate, base_id=current.parent, request=request)

    def edit(self, user_turn_id: str | None, new_text: str, conv: Conversation | None,
             request: gr.Request = None) -> Iterator[tuple]:
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation as exc:
            yield refused(7, str(exc))
            return
        if conv is None or not user_turn_id:
            yield (conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                   error_html("pick one of your messages to edit"), gr.skip())
            return
        yield from self._turn(conv, lambda: conv.edit(user_turn_id, new_text), request=request)

    def _turn(self, conv: Conversation, events: Callable, base_id: str | None = None,
              request: gr.Request | None = None) -> Iterator[tuple]:
        lock = self.ctx.turn_lock(conv.id)
        if not lock.acquire(timeout=TURN_TIMEOUT_S):
            yield conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_html("still busy with the last reply"), gr.skip()
            return
        try:
            # the reply's sentences go to this page's live avatar stream when it plays one
            conv.live = self.ctx.live.turn_sink(request, conv.persona) if self.ctx.live is not None else None
            yield from self._turn_locked(conv, events, base_id)
        finally:
            if conv.live is not None:
                conv.live.end()
                conv.live = None
            lock.release()

    def _turn_locked(self, conv: Conversation, events: Callable, base_id: str | None) -> Iterator[tuple]:
        # The turn runs on a worker thread that moves conv.current; the history shown while the
        # reply streams is the path to the turn being answered, taken from ids in the events.
        name = conv.persona.display_name
        history = chat_messages(conv.tree.path_to(base_id) if base_id else conv.path(), name)
        sentences: list[str] = []
        try:
            for event in stream_paced(events, timeout_s=TURN_TIMEOUT_S):
                if isinstance(event, UserTurnSaved):
                    history = chat_messages(conv.tree.path_to(event.turn.id), name)
                    # while the reply is written the avatar listens, mirroring the person's mood
                    if conv.live is not None:
                        conv.live.presence.set_partner_emotion(event.turn.emotion)
                    clip = self.ctx.listening_video(conv.persona, event.turn.emotion)
                    video = gr.Video(value=clip, loop=True) if clip else gr.skip()
                    yield (conv, history + [writing_bubble(name)], video, emotion_badge(event.turn.emotion, "you"),
                           "", "", "")
                elif isinstance(event, ReplySentence):
                    sentences.append(event.text)
                    partial = history + [{"role": "assistant", "content": " ".join(sentences)}]
                    yield conv, partial, gr.skip(), gr.skip(), " ".join(sentences), gr.skip(), gr.skip()
                elif isinstance(event, ReplyMedia) and event.path is not None:  # else: on the live stream
                    yield conv, gr.skip(), gr.Video(value=event.path, loop=False), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                elif isinstance(event, ReplySaved):
                    turn = event.turn
                    notice = ok_html(event.notice) if event.notice else ""
                    yield (conv, chat_messages(conv.path(), name), gr.skip(), emotion_badge(turn.emotion, name),
                           turn.text, notice, gr.skip())
                elif isinstance(event, TurnFailed):
                    status = (ok_html(event.message) if event.interrupted else
                              error_html(f"{event.message} — your message is kept; press Regenerate to retry."))
                    yield conv, chat_messages(conv.path(), name), gr.skip(), gr.skip(), "", status, gr.skip()
        except InputError as exc:
            # nothing was saved: leave the typed text in the box
            yield conv, gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_html(user_message(exc)), gr.skip()
        except Exception as exc:  # any other failure: a clear line in the chat, never a crash
            log.exception("turn failed")
            yield (conv, chat_messages(conv.path(), name), gr.skip(), gr.skip(), gr.skip(),
                   error_html(user_message(exc)), gr.skip())

    def switch(self, leaf_id: str | None, conv: Conversation | None, request: gr.Request = None) -> tuple:
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation as exc:
            return refused(7, str(exc))
        if conv is None or not leaf_id:
            return (conv,) + (gr.skip(),) * 6
        with self.ctx.turn_lock(conv.id):
            try:
                self.ctx.switch(conv, leaf_id)
            except (KeyError, ValueError) as exc:  # not a node of this conversation
                return (conv,) + (gr.skip(),) * 4 + (error_html(f"no such branch: {user_message(exc)}"), gr.skip())
            return self.show(conv)

    # --- conversations -------------------------------------------------------------------------

    def open(self, conv_id: str | None, conv: Conversation | None, request: gr.Request = None) -> tuple:
        if not conv_id:
            return (conv,) + (gr.skip(),) * 4 + (error_html("pick a saved conversation first"), gr.skip())
        try:
            self.ctx.check_owner(conv_id, request)  # only this browser's own conversations
            conv = self.ctx.open(conv_id)
        except NoSuchConversation as exc:
            return refused(7, str(exc))
        except Exception as exc:
            log.exception("open failed")
            return (conv,) + (gr.skip(),) * 4 + (error_html(user_message(exc)), gr.skip())
        return self.show(conv)

    def new(self, persona_name: str | None, conv: Conversation | None, request: gr.Request = None) -> tuple:
        try:
            conv = self.ctx.open_or_start(None, persona_name, owner=request)
        except NoSuchConversation as exc:
            return refused(7, f"{exc}: this browser has no owner cookie (enable cookies)")
        except Exception as exc:
            return (conv,) + (gr.skip(),) * 4 + (error_html(user_message(exc)), gr.skip())
        return self.show(conv)

    def show(self, conv: Conversation) -> tuple:
        """Everything the chat shows for the conversation's current node (no new turn)."""
        path = conv.path()
        last_avatar = next((t for t in reversed(path) if t.speaker is Speaker.AVATAR), None)
        video = gr.skip()
        found = self.ctx.turn_video(last_avatar) if last_avatar is not None else None
        if found:
            video = gr.Video(value=found, loop=False)
        elif (clip := self.ctx.listening_video(conv.persona)):  # its replies played live: no clip to show
            video = gr.Video(value=clip, loop=True)
        badge = emotion_badge(last_avatar.emotion, conv.persona.display_name) if last_avatar else emotion_badge(None)
        return (conv, chat_messages(path, conv.persona.display_name), video, badge,
                last_avatar.text if last_avatar else "", "", gr.skip())

    def on_load(self, conv: Conversation | None, request: gr.Request = None) -> tuple:
        """A fresh page: this browser's most recent conversation reopened where it was left, or
        the default persona's greeting when it has none (nothing saved until the first message).

        The session state is set only when a conversation is reopened: a message sent before
        the page finished loading is not wiped by this handler.
        """
        names = sorted(self.ctx.personas())
        persona_dd = gr.Dropdown(choices=names, value=self.ctx.settings.persona if self.ctx.settings.persona in names else None)
        state = gr.skip()
        if conv is not None:
            try:
                conv = self.owned(conv, request)
            except NoSuchConversation:
                conv = None  # not this browser's: show a fresh page
        if conv is None:
            conv = state = self._last_conversation(request)
        # the status line is left alone: a message sent before the load finished keeps its error
        if conv is not None:
            shown = self.show(conv)
            return ((state,) + shown[1:5] + (gr.skip(), gr.skip()) + self.controls(conv, request) + (persona_dd,))
        persona = self.ctx.persona(self.ctx.settings.persona)
        history = [{"role": "assistant", "content": persona.greeting}]
        # the clip player shows the avatar from the start too (listening), not an empty box
        clip = self.ctx.listening_video(None)
        video = gr.Video(value=clip, loop=True) if clip else gr.skip()
        return ((gr.skip(), history, video, emotion_badge(None), persona.greeting, gr.skip(), gr.skip())
                + self.controls(None, request) + (persona_dd,))

    def _last_conversation(self, request) -> Conversation | None:
        """This browser's most recently updated conversation, reopened; None when it has none
        (or it cannot be opened any more: then the page starts fresh, and says nothing)."""
        rows = self.ctx.owned_conversations(request)  # newest first
        if not rows:
            return None
        try:
            return self.ctx.open(rows[0].id, owner=request)
        except Exception:  # a damaged conversation must not break the page: start fresh
            log.exception("cannot reopen conversation %s", rows[0].id)
            return None

    def controls(self, conv: Conversation | None, request: gr.Request = None) -> tuple:
        """Branch switcher, edit picker and the picker of this browser's saved conversations
        (those its owner cookie owns, decided by the server)."""
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation:
            conv = None
        self._follow(conv, request)
        rows = self.ctx.owned_conversations(request)
        picker = gr.Dropdown(choices=[(conversation_label(r.title, r.persona, r.updated_at), r.id) for r in rows],
                             value=conv.id if conv is not None else None)
        if conv is None:
            return gr.Dropdown(choices=[], value=None), gr.Dropdown(choices=[], value=None), picker
        with self.ctx.turn_lock(conv.id):
            return (gr.Dropdown(choices=branch_choices(conv.tree.branches()), value=conv.current),
                    gr.Dropdown(choices=user_turn_choices(conv.path()), value=None), picker)

    def _follow(self, conv: Conversation | None, request, history: bool = True) -> None:
        """The page's live session prefills `conv`'s next reply (None: a conversation not started
        yet, with the default persona) while the person speaks or types (LiveSession.prefill);
        `history`: its path so far at once (LiveSession.prefill_with)."""
        if self.ctx.live is None:
            return
        ctx = self.ctx
        if conv is None:
            try:
                persona = ctx.persona(ctx.settings.persona)
            except ValueError:  # PersonaError: the first message will say so
                return
            ctx.live.follow(request, lambda text, tag_ahead=True: prefill_reply(ctx.services, persona, None, None, text,
                                                                                tag_ahead), history)
            return
        lock = ctx.turn_lock(conv.id)

        def draft(text: str, tag_ahead: bool = True) -> dict | None:
            # the lock only while the prompt is read from the tree: a turn that starts meanwhile
            # must not wait for the models (the feeling's reader, the LLM's evaluation)
            feeling = draft_feeling(ctx.services, text)
            if not lock.acquire(blocking=False):  # a turn runs: the next prompt is not known yet
                return None
            try:
                prompt = conv.reply_prompt(text, feeling)
            finally:
                lock.release()
            return evaluate_prompt(ctx.services, prompt, tag_ahead)

        ctx.live.follow(request, draft, history)

    # --- listening and speech ------------------------------------------------------------------

    def listening(self, conv: Conversation | None):
        clip = self.ctx.listening_video(conv.persona if conv is not None else None)
        return gr.Video(value=clip, loop=True) if clip else gr.skip()

    def transcribe(self, audio_path: str | None) -> tuple:
        """Microphone recording (a file) -> text in the message box, the status cleared and the
        recorder emptied for the next message. Raises gr.Error for unusable audio (so the
        chained send does not run)."""
        text, _ = self._transcribe(audio_path)
        return text, "", None

    def transcribe_voice(self, audio_path: str | None) -> tuple:
        """As `transcribe`, plus the recording itself ((N,) float32 at 16 kHz) for `send_spoken`."""
        text, pcm = self._transcribe(audio_path)
        return text, "", None, pcm

    # --- the live stream (hands-free) ----------------------------------------------------------

    def send_heard(self, text: str, conv: Conversation | None, request: gr.Request = None) -> Iterator[tuple]:
        """A turn the live stream's microphone heard: its transcript (put in the message box by
        the page) sent with the recording kept as the turn's voice (16 kHz, app/live.py)."""
        live = self.ctx.live.session(request) if self.ctx.live is not None else None
        voice = live.take_voice(text) if live is not None else None
        yield from self.send_spoken(text, voice, conv, request)

    def typing(self, request: gr.Request = None) -> None:
        """The person is in the message box: the live avatar listens."""
        self.ctx.live.typing(True, request)

    def not_typing(self, request: gr.Request = None) -> None:
        self.ctx.live.typing(False, request)

    def _transcribe(self, audio_path: str | None) -> tuple[str, np.ndarray]:
        from dialogue.asr import AudioError, read_recording

        if not audio_path:
            raise gr.Error("no audio was recorded: check the microphone and try again")
        try:
            pcm = read_recording(audio_path)  # (N,) float32 mono at 16 kHz
        except AudioError as exc:
            raise gr.Error(f"the recording cannot be used: {exc}") from exc
        sr = RECORDING_RATE
        if pcm.size < sr * 0.3 or float(np.abs(pcm).max(initial=0.0)) < 1e-3:
            raise gr.Error("the recording is too short or silent: speak for at least a second")
        try:
            transcript = self.ctx.asr.get().transcribe(pcm, sr)
        except Exception as exc:
            raise gr.Error(user_message(exc)) from exc
        if not transcript.text.strip():
            raise gr.Error("no words were recognised in the recording: try again, closer to the microphone")
        return transcript.text.strip(), pcm

    def edit_text(self, user_turn_id: str | None, conv: Conversation | None, request: gr.Request = None):
        """The message picked for editing, pre-filled in the edit box."""
        try:
            conv = self.owned(conv, request)
        except NoSuchConversation:
            return gr.skip()
        if conv is None or not user_turn_id or user_turn_id not in conv.tree:
            return gr.skip()
        return conv.tree.get(user_turn_id).text
