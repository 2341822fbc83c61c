"""The live conversation: one continuous avatar stream per browser session, and its microphone.

A `LiveSession` belongs to one page (one Gradio session). While its page is connected (a
WebSocket, app/ui/live.py), its stream thread runs the presence loop in real time:

    presence.next_chunk(2 frames) -> renderer -> LiveEncoder (fragmented MP4) -> the page

keeping `LEAD_S` of video ahead of the wall clock while the avatar speaks (`WAIT_LEAD_S` while
it idles or listens), so the page (MediaSource) always has the next frames and the avatar never
freezes: it idles, listens, thinks or speaks (avatar/presence.py). While it thinks (a turn waits
for the model's first sentence) the lead runs down to `THINK_LEAD_S`, so the reply's first words,
appended after it, play that soon. They are never spliced in over video the page has buffered:
Chromium's audio renderer reads 0.2-3 s ahead of the playhead (its queue doubles at each
underflow), and a splice inside what it has read skips the new audio up to its read position
(heard in the page: at 6 of 7 such cuts the first word began 70-460 ms late or not at all).
A chat turn gets the session's `turn_sink` and its sentences are queued on the stream as they are
voiced (app.conversation, `Conversation.live`).

The page's microphone audio comes back over the same WebSocket (16 kHz int16 mono) to the
session's microphone (app.mic). It is fed to a voice activity detector (`dialogue.asr.vad`) and
to the listening motion: speech that starts while the avatar speaks is a barge-in (the queue is
flushed and the page silences what it has already received, and the stream is cut: a new MP4
follows that the page plays `CUT_MARGIN_S` after its playhead, dropping the speaking frames it
had buffered beyond that, so the lips stop too); the end of the person's turn is transcribed and
sent to the page, which sends it as a message (the turn then runs like a typed one, keeping the
recording as the turn's voice).

A stream that falls behind the wall clock (a loaded machine) renders every other frame (each
shown twice) until it has caught up: the audio goes on at full rate and the picture at 12.5 fps,
rather than the page stalling. So does the thinking avatar (the model is writing the reply and
needs the CPU; the thinking pose changes slowly).

`LiveHub` holds the sessions of the process, found by their unguessable token (the WebSocket)
or by the Gradio session they belong to (the chat's handlers).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.mic import Heard, Jobs, Mic, default_vad
from avatar.pipeline import AvatarPipeline
from avatar.presence import Presence, PresenceState, TurnSink

log = logging.getLogger(__name__)

FPS = 25
SAMPLE_RATE = 24000  # the stream's audio (AAC)
CHUNK_FRAMES = 2  # frames made per step of the stream thread (80 ms): queued speech starts within one
LEAD_S = 0.6  # video made ahead of the wall clock while the avatar speaks (absorbs scheduling hiccups)
DEGRADE_BELOW_S = 0.1  # less made ahead than this (the stream fell behind): render every other frame
POLL_S = 0.04  # the stream thread's longest sleep
STALL_S = 0.12  # a chunk (80 ms of stream) that took longer than this to make is marked in the trace
# ... while it idles, listens or thinks (a reply's first words join the stream after it). At 0.25 s the
# page ran dry at each 0.2-0.4 s stall of the stream thread (the CPU taken by the rest) and fell
# behind the stream's clock by as much (0.3-0.5 s later than planned), with 0.8-1.2 s freezes in
# every run; at 0.45 the page plays on time, so its first words come as soon (bench/live.py).
WAIT_LEAD_S = 0.45
THINK_LEAD_S = 0.25  # ... while it thinks: a reply's first words play this soon after they are queued
CUT_MARGIN_S = 0.2  # after a barge-in's cut, the new stream plays this long after the page's playhead
CUT_INTRA_FRAMES = 8  # the new stream after a cut: its first frames all keyframes (LiveEncoder.intra_frames)
TRACE_LEN = 400  # timing marks kept per session (bench/live.py reads them)
MAX_DRAFT_CHARS = 4000  # the longest typed draft a page may send to be prefilled
PENDING_TURN_S = 5.0  # a message sent (or heard) starts its turn within this; no prefill begins meanwhile


@dataclass
class StreamCost:
    """CPU seconds the stream thread spent per stage (presence motion, render, encode) for
    `frames` frames of output, and the most it fell behind the wall clock (seconds)."""

    frames: int = 0
    motion_s: float = 0.0
    render_s: float = 0.0
    encode_s: float = 0.0
    behind_s: float = 0.0
    skipped: int = 0  # frames not rendered (the previous one shown again) while the stream was behind

    def add(self, frames: int, motion_s: float, render_s: float, encode_s: float, behind: float) -> None:
        self.frames += frames
        self.motion_s += motion_s
        self.render_s += render_s
        self.encode_s += encode_s
        self.behind_s = max(self.behind_s, behind)

    def per_second(self) -> dict[str, float]:
        """CPU milliseconds per second of stream, per stage."""
        seconds = max(self.frames / FPS, 1e-9)
        return {"motion": 1000 * self.motion_s / seconds, "render": 1000 * self.render_s / seconds,
                "encode": 1000 * self.encode_s / seconds}


class LiveSession:
    """One page's live avatar stream and microphone (see the module docstring).

    pipeline: the persona's avatar pipeline (its renderer draws the stream's frames; its profile
        shapes the listening motion).
    send: called from the stream and microphone threads with what goes to the page: `bytes`
        (the MP4 stream) or a `dict` (a JSON message). Set by `connect`.
    asr: builds the speech recognizer (`transcribe(pcm, sr) -> Transcript`), or None.
    vad: builds a voice activity detector (`feed(pcm) -> [VadEvent]`) for 16 kHz audio.
    """

    def __init__(self, pipeline: AvatarPipeline, asr: Callable[[], object] | None = None,
                 vad: Callable[[], object] | None = None, token: str | None = None, owner: str | None = None):
        self.token = token or secrets.token_urlsafe(24)
        self.owner = owner  # digest of the owner cookie of the page that opened it (app.access); None: none
        self.pipeline = pipeline
        self.presence = Presence(_listener(pipeline), sample_rate=SAMPLE_RATE, fps=FPS)
        self._asr = asr
        self._vad_factory = vad or default_vad
        self._send: Callable[[object], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._mic = Mic(self)
        self.heard: Heard | None = None  # the last transcribed turn, until a message takes its voice
        self.playing = False  # the page reported that the stream plays
        self.cost = StreamCost()  # CPU time the stream thread spent, per stage
        self.trace: deque[dict] = deque(maxlen=TRACE_LEN)  # timing marks of turns (see `mark`)
        self._cut = threading.Event()  # a barge-in: the stream thread cuts the stream (see `_run`)
        self._base_frame = 0  # the presence's frame at the start of the current stream (its media time 0)
        self._drafter: Callable[..., dict | None] | None = None  # evaluates a reply's prompt ahead
        self._prefills = Jobs("live-prefill")
        self._prefilled = ""  # the text of the last prefill handed on
        self._pending_since: float | None = None  # a message was sent or heard; its turn has not begun

    # --- the page ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def connect(self, send: Callable[[object], None]) -> None:
        """The page opened the stream: (re)start it from a fresh MP4 (init segment first)."""
        self.disconnect()
        with self._lock:
            self._send = send
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name=f"live-{self.token[:6]}",
                                            daemon=True)
            self._thread.start()

    def disconnect(self) -> None:
        """The page went away: stop the stream thread (waits for it) and the microphone."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self._mic.off()
        self.playing = False
        self._prefills.close()
        self._prefills = Jobs("live-prefill")

    def on_message(self, msg: dict) -> None:
        """A JSON message from the page: {"type": "playing"} | {"type": "mic", "on": bool} |
        {"type": "draft", "text": the message being typed} | ... (see below)."""
        kind = msg.get("type")
        if kind == "draft":
            text = msg.get("text")
            if isinstance(text, str):
                self.prefill(text[:MAX_DRAFT_CHARS])
        elif kind == "playing":
            self.playing = True
        elif kind == "played":  # the page began playing a turn's speech
            self.mark("played", turn=msg.get("turn"))
        elif kind == "sent":  # the person sent a typed message
            self.mark("sent")
            self.turn_pending()
        elif kind == "mic":
            self._mic.on() if msg.get("on") else self._mic.off()
        else:
            log.debug("unknown live message %r", kind)

    def hear(self, pcm16: bytes) -> None:
        """Microphone audio from the page: 16 kHz int16 mono (any length)."""
        self._mic.feed(np.frombuffer(pcm16, np.int16).astype(np.float32) / 32768.0)

    def mark(self, stage: str, at: float | None = None, **info) -> None:
        """A timing mark of a turn's way from the person to the avatar's first words (read by
        bench/live.py): `stage` at time.monotonic() `at` (default now), with `info`. Stages:
        sent (a typed message was sent), vad_end (speech_end: when the speech ended),
        asr (a transcription: kind, seconds, audio_s), transcript, turn (a chat turn began: its
        `turn` number), queued (a segment of it is on the stream), streamed (its first speaking
        frame was made; `plays_at`: when the stream plays it), played (the page says it plays),
        prefill (a reply's prompt evaluated ahead: seconds, chars, the model's prompt_n / cache_n)."""
        self.trace.append({"stage": stage, "t": time.monotonic() if at is None else at, **info})

    def emit(self, item: object) -> None:
        send = self._send
        if send is not None:
            send(item)

    # --- the chat ------------------------------------------------------------------------------

    def prefill_with(self, drafter: Callable[..., dict | None] | None, history: bool = True) -> None:
        """What evaluates the next reply's prompt ahead: `drafter(text, tag_ahead=...)` with the
        person's message so far (app.conversation.prefill_reply for this page's conversation; it
        returns the model's timings or None; tag_ahead False for a partial transcript). Set by the chat whenever its conversation changes (after each
        turn). history: prefill the conversation so far at once (`drafter("")`), so the next
        reply finds its last reply evaluated as its prompt renders it, spoken or typed."""
        self._drafter, self._prefilled = drafter, ""
        if drafter is not None and history:
            self._prefills.submit("draft", lambda: self._prefill(drafter, ""))

    def prefill(self, text: str, partial: bool = False) -> None:
        """The person's message so far (the transcript so far, the text typed so far): its reply's
        prompt is evaluated ahead on the session's prefill thread, so the reply, once the
        message is sent, evaluates only its end. A newer text supersedes one not begun yet.
        partial: `text` is a partial transcript's: it is dropped if the person is quiet by the time
        it would begin (the speculative transcript follows; on 2 cores such an evaluation, begun
        as they stopped, took 4 s and the turn waited 3.4 s behind it)."""
        drafter, text = self._drafter, (text or "").strip()
        if drafter is None or not text or text == self._prefilled:
            return
        self._prefilled = text
        self._prefills.submit("draft", lambda: self._prefill(drafter, text, partial))

    def turn_pending(self, pending: bool = True) -> None:
        """A message was sent or heard (pending False: what was heard had no words): until its
        turn begins (`turn_sink`, at most `PENDING_TURN_S`), no prefill of a message is begun:
        the model (one slot) would make the turn wait for an evaluation of a prompt the turn is
        about to replace. The conversation so far (`prefill_with`) is still evaluated: every
        next prompt begins with it."""
        self._pending_since = time.monotonic() if pending else None

    def _turn_pending(self) -> bool:
        since = self._pending_since
        return since is not None and time.monotonic() - since < PENDING_TURN_S

    def _prefill(self, drafter: Callable[[str], dict | None], text: str, partial: bool = False) -> None:
        # the conversation so far ("") is the start of any next turn's prompt: never stale
        if text and (self._turn_pending() or (partial and self._mic.quiet)):
            self.mark("prefill_skipped", chars=len(text))
            return
        t0 = time.monotonic()
        try:
            # a partial transcript's prompt alone: the final one nearly always extends it, so a
            # tag written after it would be thrown away, and the model (one slot) kept from the turn
            timings = drafter(text, tag_ahead=not partial)
        except Exception:  # an optimisation only: the reply evaluates its whole prompt then
            log.exception("prefilling the reply's prompt failed")
            return
        if timings is not None:
            self.mark("prefill", t0, seconds=time.monotonic() - t0, chars=len(text),
                      prompt_n=timings.get("prompt_n"), cache_n=timings.get("cache_n"))

    def use(self, pipeline: AvatarPipeline) -> None:
        """Another persona's avatar from now on (its renderer must draw frames of the same size)."""
        if pipeline.renderer is self.pipeline.renderer and pipeline.profile == self.pipeline.profile:
            return
        self.pipeline = pipeline
        self.presence.set_ambient(_listener(pipeline))

    def turn_sink(self) -> TurnSink | None:
        """Where a chat turn's sentences go: the stream, when the page plays it; else None (clips).
        Called as a chat turn begins (it holds its conversation's turn lock)."""
        self._pending_since = None
        if not (self.connected and self.playing):
            return None
        sink = self.presence.turn_sink()
        turn = sink.generation
        self.mark("turn", turn=turn)
        sink.on_put = lambda segment: self.mark("queued", turn=turn, seconds=segment.duration)
        return sink

    def take_voice(self, text: str) -> np.ndarray | None:
        """The recording of the spoken turn whose transcript is `text` (once), or None."""
        heard, self.heard = self.heard, None
        return heard.pcm if heard is not None and heard.text.strip() == (text or "").strip() else None

    # --- the stream thread ---------------------------------------------------------------------

    def media_time(self, frame: int) -> float:
        """The stream's media time (seconds, as the page's events carry it) of presence frame `frame`."""
        return (frame - self._base_frame) / FPS

    def cut(self) -> None:
        """Drop what the page has buffered beyond `CUT_MARGIN_S` (a barge-in): see `_run`."""
        self._cut.set()

    def _run(self, stop: threading.Event) -> None:
        from avatar.video.live import LiveEncoder

        size = self.pipeline.renderer.size
        encoder = LiveEncoder(size, size, fps=FPS, sample_rate=SAMPLE_RATE)
        self._base_frame = self.presence.frames_out
        self._cut.clear()
        start, made = time.monotonic(), 0
        try:
            while not stop.is_set():
                ahead = made / FPS - (time.monotonic() - start)
                if self._cut.is_set():
                    # the page drops its buffer beyond playhead + CUT_MARGIN_S and plays a new MP4 there:
                    # the rest of the old one, then where the new one starts (media time), then the new one
                    self._cut.clear()
                    tail = encoder.close()
                    if tail:
                        self.emit(tail)
                    self.emit({"type": "cut", "t": made / FPS})
                    encoder = LiveEncoder(size, size, fps=FPS, sample_rate=SAMPLE_RATE, intra_frames=CUT_INTRA_FRAMES)
                    start = time.monotonic() - made / FPS + CUT_MARGIN_S  # made ahead: the margin
                    ahead = CUT_MARGIN_S
                lead = self._lead()
                if ahead > lead:
                    stop.wait(min(ahead - lead, POLL_S))  # woken often: queued speech starts soon
                    continue
                if ahead < -1.0:  # fell behind (a loaded machine): the page stalled; catch up from now
                    log.warning("live stream %s fell %.1f s behind", self.token[:6], -ahead)
                    start = time.monotonic() - made / FPS
                thinking = self.presence.state is PresenceState.THINKING and not self.presence.queued
                w0, c0 = time.monotonic(), time.thread_time()
                chunk = self.presence.next_chunk(CHUNK_FRAMES)
                c1 = time.thread_time()
                frames = self._frames(chunk.motion, behind=ahead < DEGRADE_BELOW_S,
                                      thinking=thinking and not chunk.events)
                c2 = time.thread_time()
                data = encoder.write(frames, chunk.pcm)
                self.cost.add(chunk.motion.num_frames, c1 - c0, c2 - c1, time.thread_time() - c2,
                              behind=max(0.0, -ahead))
                if time.monotonic() - w0 > STALL_S:  # the chunk took long: waiting (CPU, the GIL) or working
                    self.mark("stream_stall", w0, seconds=time.monotonic() - w0, cpu_s=time.thread_time() - c0,
                              ahead=ahead)
                for frame, state, text, turn in chunk.events:
                    if state is PresenceState.SPEAKING:
                        self.mark("streamed", turn=turn, plays_at=start + self.media_time(frame))
                    self.emit({"type": "state", "state": state.value, "t": self.media_time(frame), "text": text,
                               "turn": turn})
                if data:
                    self.emit(data)
                made += chunk.motion.num_frames
        except Exception:  # the page shows the stream has ended and falls back to clips
            log.exception("live stream %s failed", self.token[:6])
            self.emit({"type": "error", "message": "the live avatar stream stopped"})
        finally:
            try:
                encoder.close()
            except Exception:  # closing a broken encoder: nothing more to send
                log.debug("closing the live encoder failed", exc_info=True)

    def _lead(self) -> float:
        """Seconds of stream to keep made ahead of the wall clock now (the module's docstring)."""
        if self.presence.state is PresenceState.SPEAKING or self.presence.queued:
            return LEAD_S
        return THINK_LEAD_S if self.presence.state is PresenceState.THINKING else WAIT_LEAD_S

    def _frames(self, motion, behind: bool, thinking: bool = False) -> list[np.ndarray]:
        """The chunk's frames; every other one rendered (shown twice) while the stream is behind,
        and while the avatar only thinks (its pose changes slowly, and the model writing the reply
        needs the CPU: the thinking chunks cost half)."""
        renderer = self.pipeline.renderer
        if not (behind or thinking) or motion.num_frames < 2:
            return list(renderer.stream_frames(motion))
        if behind:
            self.cost.skipped += motion.num_frames // 2
        drawn = list(renderer.stream_frames(every_other(motion)))
        return [drawn[k // 2] for k in range(motion.num_frames)]


def every_other(motion):
    """Frames 0, 2, 4, ... of a motion clip."""
    from dataclasses import replace

    return replace(motion, pose=motion.pose[::2], gaze=motion.gaze[::2], expression=motion.expression[::2])


def _listener(pipeline: AvatarPipeline):
    from avatar.motion.live import LiveListener

    return LiveListener(pipeline.profile)


class LiveHub:
    """The live sessions of this process, by token (the page's WebSocket) and by Gradio session.

    pipeline_for: persona -> its avatar pipeline (app.media.AvatarComponents.pipeline).
    """

    def __init__(self, pipeline_for: Callable[[object], AvatarPipeline], asr: Callable[[], object] | None = None,
                 vad: Callable[[], object] | None = None):
        self.pipeline_for = pipeline_for
        self.asr = asr
        self.vad = vad
        self._lock = threading.Lock()
        self._by_token: dict[str, LiveSession] = {}
        self._by_session: dict[str, LiveSession] = {}

    def open(self, session_hash: str, persona, owner: str | None = None) -> LiveSession:
        """The live session of Gradio session `session_hash` (created with `persona`'s avatar).

        owner: the digest of the opening page's owner cookie; the WebSocket must then carry the
            same cookie as well as the session's token (see `may_connect`).
        """
        with self._lock:
            found = self._by_session.get(session_hash)
        if found is not None:
            return found
        live = LiveSession(self.pipeline_for(persona), asr=self.asr, vad=self.vad, owner=owner)
        with self._lock:
            live = self._by_session.setdefault(session_hash, live)
            self._by_token[live.token] = live
        return live

    def by_token(self, token: str | None) -> LiveSession | None:
        with self._lock:
            return self._by_token.get(token or "")

    def may_connect(self, token: str | None, cookies) -> LiveSession | None:
        """The session a WebSocket may join: its token is known and, when the session was opened
        by a page with an owner cookie, the socket carries that same cookie (`cookies`: anything
        `app.access.owner_of` reads). None: refuse."""
        from app.access import NoSuchConversation, owner_of

        live = self.by_token(token)
        if live is None or live.owner is None:
            return live
        try:
            digest = owner_of(cookies).digest
        except NoSuchConversation:
            return None
        return live if secrets.compare_digest(digest, live.owner) else None

    def of(self, session_hash: str | None) -> LiveSession | None:
        with self._lock:
            return self._by_session.get(session_hash or "")

    def close(self, session_hash: str | None) -> None:
        """The page was closed: stop and forget its session."""
        with self._lock:
            live = self._by_session.pop(session_hash or "", None)
            if live is not None:
                self._by_token.pop(live.token, None)
        if live is not None:
            live.disconnect()

    def close_all(self) -> None:
        with self._lock:
            hashes = list(self._by_session)
        for h in hashes:
            self.close(h)
