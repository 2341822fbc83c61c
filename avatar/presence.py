"""The presence loop's core: the avatar's continuous motion and audio for one live session.

A `Presence` always has a next frame. It is in one of four states:

    IDLE       nobody is talking: attentive idling (blinks, small head motion)
    LISTENING  the person speaks or types: listening motion, driven by their live audio
    THINKING   the person finished; the reply is being written: a listening/thinking pose
    SPEAKING   a reply sentence plays; the next ones wait in a queue, made ahead of playback

Reply segments (voice + motion, made by `avatar.pipeline`) are queued by `put` through a
`TurnSink` bound to one turn; `barge_in` flushes the queue and drops whatever that turn still
sends. `next_chunk(n)` hands out the next n frames of motion with their audio, switching sources
at frame boundaries and blending the first frames of a new source into the last frame shown, so
the stream never jumps, freezes or falls silent between sentences. Rendering and encoding those
frames is the caller's (app/live.py), in real time.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from avatar.motion.clip import FPS, MotionClip
from avatar.motion.io import concat, slice_clip
from avatar.motion.live import LiveListener
from avatar.pipeline import Continuity, Segment

log = logging.getLogger(__name__)

BLEND_FRAMES = 5  # frames over which a new motion source is eased in from the last frame shown


class PresenceState(str, Enum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True, slots=True)
class Chunk:
    """The next frames of the stream. `start_frame` counts frames since the stream began;
    `pcm` holds exactly the samples of these frames at the presence's sample rate; `events`
    are state changes at frame positions: (frame, state, text, turn) where `turn` numbers the
    turn the state belongs to (TurnSink.generation)."""

    start_frame: int
    motion: MotionClip
    pcm: np.ndarray
    events: tuple[tuple[int, PresenceState, str, int], ...] = ()


@dataclass
class _Playing:
    segment: Segment
    pcm: np.ndarray
    position: int = 0
    generation: int = 0


@dataclass
class TurnSink:
    """The `avatar.pipeline.SegmentSink` of one turn: queues its speaking segments on the
    presence until a barge-in (or a newer turn) cancels the turn."""

    presence: "Presence"
    generation: int
    dropped: list[Segment] = field(default_factory=list)
    on_put: Callable[[Segment], None] | None = None  # told of each segment queued (timing marks)

    @property
    def cancelled(self) -> bool:
        """A barge-in (or a newer turn) has cancelled this turn: what it still puts is dropped,
        so its maker may stop (app.conversation stops the reply where it was interrupted)."""
        return not self.presence.is_current(self.generation)

    def unheard(self) -> list[Segment]:
        """This turn's segments that never played: flushed when it was cancelled, or put after."""
        return self.presence.flushed(self.generation) + self.dropped

    def put(self, segment: Segment) -> Segment:
        if not self.presence.enqueue(segment, self.generation):
            self.dropped.append(segment)
        elif self.on_put is not None:
            self.on_put(segment)
        return segment

    def end(self) -> None:
        """The turn has sent everything (or failed): the avatar idles once the queue has played."""
        self.presence.end_turn(self.generation)


class Presence:
    """One live session's avatar: always a next frame (see the module docstring). Thread-safe:
    turns put segments from their threads while the stream's thread takes chunks.

    ambient: the idle and listening motion (`avatar.motion.live.LiveListener`: push the
    person's live audio to it, set their emotion); it is asked for frames only when no speech
    plays, and restarted from the last frames shown whenever speech ends.
    """

    def __init__(self, ambient: LiveListener, sample_rate: int = 24000, fps: int = FPS):
        self.ambient = ambient
        self.sample_rate = sample_rate
        self.fps = fps
        self._lock = threading.Lock()
        self._ambient_lock = threading.Lock()  # the ambient motion has one owner at a time
        self._queue: deque[_Playing] = deque()
        self._playing: _Playing | None = None
        self._generation = 0
        self._flushed: tuple[int, list[Segment]] = (0, [])  # the last cancelled turn's segments never played
        self._frame = 0  # frames handed out since the stream began
        self._state = PresenceState.IDLE
        self._resting = PresenceState.IDLE  # the state to fall back to when nothing is queued
        self._events: list[tuple[int, PresenceState, str, int]] = []
        self._shown = Continuity()  # the last frames handed out
        self._source = ""  # "speech" | "ambient": where the last frames came from
        self._spoken = None  # the emotion of the last reply that played, handed to the ambient motion
        if sample_rate % fps:
            raise ValueError(f"sample_rate {sample_rate} must be a multiple of fps {fps}")
        self.samples_per_frame = sample_rate // fps

    # --- control (any thread) ----------------------------------------------------------------

    @property
    def state(self) -> PresenceState:
        return self._state

    @property
    def frames_out(self) -> int:
        return self._frame

    @property
    def queued(self) -> int:
        """Speaking segments waiting or playing."""
        with self._lock:
            return len(self._queue) + (self._playing is not None)

    def hear(self, pcm: np.ndarray, sample_rate: int) -> None:
        """The person's live audio (mono float32): the listening motion hears it."""
        with self._ambient_lock:
            self.ambient.push_audio(pcm, sample_rate)

    def set_partner_emotion(self, emotion) -> None:
        """Mirror the person's emotion (an EmotionState, or None) while listening."""
        with self._ambient_lock:
            self.ambient.set_partner_emotion(emotion)

    def set_ambient(self, ambient: LiveListener) -> None:
        """Another avatar's listening motion (a persona change), continuing from the last frames."""
        with self._ambient_lock:
            self.ambient = ambient
            self._source = ""  # restarted from the frames shown at its first use

    def turn_sink(self) -> TurnSink:
        """A sink for a new turn's segments. A reply still playing is superseded (the person
        sent a new message, or regenerated it): it stops, and the avatar thinks."""
        with self._lock:
            self._cancel_turn()
            self._resting = PresenceState.THINKING
            self._set(PresenceState.THINKING, "")
            return TurnSink(self, self._generation)

    def is_current(self, generation: int) -> bool:
        """Whether turn `generation` is the current one (not cancelled by a barge-in or a newer turn)."""
        with self._lock:
            return generation == self._generation

    def enqueue(self, segment: Segment, generation: int) -> bool:
        """Queue a speaking segment of turn `generation`; False (dropped) once that turn was
        cancelled."""
        pcm, _ = segment.pcm(self.sample_rate)
        with self._lock:
            if generation != self._generation:
                return False
            self._queue.append(_Playing(segment, pcm, generation=generation))
            return True

    def end_turn(self, generation: int) -> None:
        """The turn has sent all its segments: once they have played, the avatar idles."""
        with self._lock:
            if generation == self._generation:
                self._resting = PresenceState.IDLE
                if self._playing is None and not self._queue and self._state is PresenceState.THINKING:
                    self._set(PresenceState.IDLE, "")

    def listen(self, on: bool = True) -> None:
        """The person speaks or types (on), or stopped (off: back to idle unless a reply is
        being written); shown at once when nothing plays."""
        with self._lock:
            if on:
                self._resting = PresenceState.LISTENING
            elif self._resting is PresenceState.LISTENING:
                self._resting = PresenceState.IDLE
            if self._playing is None and not self._queue:
                self._set(self._resting, "")

    def barge_in(self) -> int:
        """The person talks over the avatar: drop the queue and what plays, cancel the turn, and
        listen. Returns the stream frame from which the avatar is silent."""
        with self._lock:
            self._cancel_turn()
            self._resting = PresenceState.LISTENING
            self._set(PresenceState.LISTENING, "barge-in")
            return self._frame

    def flushed(self, generation: int) -> list[Segment]:
        """The segments of cancelled turn `generation` that were queued and never played."""
        with self._lock:
            cancelled, segments = self._flushed
            return list(segments) if cancelled == generation else []

    def _cancel_turn(self) -> None:
        """(lock held) The current turn is over: what it queued is dropped (kept as `flushed`)."""
        self._flushed = (self._generation, [p.segment for p in self._queue if p.generation == self._generation])
        self._generation += 1
        self._queue.clear()
        self._playing = None

    def take_events(self) -> list[tuple[int, PresenceState, str, int]]:
        with self._lock:
            out, self._events = self._events, []
            return out

    # --- the stream (one thread) -------------------------------------------------------------

    def next_chunk(self, n: int) -> Chunk:
        """The next `n` frames: queued speech first, else ambient motion; exactly n frames and
        n * samples_per_frame samples of audio. Each new source is eased in from the last frame."""
        start = self._frame
        motions: list[MotionClip] = []
        audio: list[np.ndarray] = []
        left = n
        while left > 0:
            with self._lock:
                playing = self._playing
                if playing is None and self._queue:
                    playing = self._playing = self._queue.popleft()
                    self._set(PresenceState.SPEAKING, playing.segment.text, playing.generation)
                    self._spoken = playing.segment.emotion
                elif playing is None and self._state is PresenceState.SPEAKING:
                    self._set(self._resting, "")
            if playing is not None:
                k = min(left, playing.segment.motion.num_frames - playing.position)
                piece = slice_clip(playing.segment.motion, playing.position, playing.position + k)
                a, b = playing.position * self.samples_per_frame, (playing.position + k) * self.samples_per_frame
                audio.append(np.pad(playing.pcm[a:b], (0, max(0, (b - a) - len(playing.pcm[a:b])))))
                new_source = playing.position == 0
                playing.position += k
                with self._lock:
                    if playing.position >= playing.segment.motion.num_frames and self._playing is playing:
                        self._playing = None
                source = "speech"
            else:
                k = left
                new_source = self._source != "ambient"
                with self._ambient_lock:
                    if new_source:
                        if self._spoken is not None:  # the listening face keeps the mood just spoken
                            self.ambient.set_own_emotion(self._spoken)
                            self._spoken = None
                        self.ambient.start_from(self._shown.tail)
                    piece = self.ambient.next_frames(k)
                audio.append(np.zeros(k * self.samples_per_frame, np.float32))
                source = "ambient"
            if new_source:
                piece = _ease_in(piece, self._shown.tail)
            self._source = source
            motions.append(piece)
            self._shown.remember(piece if self._shown.tail is None else concat([self._shown.tail, piece]))
            self._frame += k
            left -= k
        motion = concat(motions) if len(motions) > 1 else motions[0]
        return Chunk(start, motion, np.concatenate(audio), tuple(self.take_events()))

    def _set(self, state: PresenceState, text: str, turn: int | None = None) -> None:
        """(lock held) a state change at the next frame handed out (of `turn`, default the latest)."""
        if state is not self._state or text:
            self._state = state
            self._events.append((self._frame, state, text, self._generation if turn is None else turn))


def _ease_in(piece: MotionClip, last: MotionClip | None, frames: int = BLEND_FRAMES) -> MotionClip:
    """`piece` with its first frames pulled towards the last frame of `last`, the pull fading out
    over `frames` frames: a new motion source joins the frame shown before it without a jump."""
    if last is None or piece.num_frames == 0:
        return piece
    k = min(frames, piece.num_frames)
    w = (1.0 - np.arange(1, k + 1) / (frames + 1))[:, None].astype(np.float32)  # (k, 1)

    def pull(x: np.ndarray, x_last: np.ndarray) -> np.ndarray:
        y = x.copy()
        y[:k] += w * (x_last[-1] - x[0])
        return y

    return replace(piece, pose=pull(piece.pose, last.pose), gaze=pull(piece.gaze, last.gaze),
                   expression=np.clip(pull(piece.expression, last.expression), 0.0, 1.0))
