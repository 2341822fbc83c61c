"""A live session's microphone (app.live.LiveSession): voice activity, barge-in, the listening
motion and transcription while the person speaks, and the job thread that runs transcriptions
and prefills in order."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from avatar.presence import PresenceState
from dialogue.asr.streaming import StreamingTranscriber, settled

if TYPE_CHECKING:
    from app.live import LiveSession

log = logging.getLogger(__name__)

MIC_RATE = 16000  # the page sends its microphone at this rate
PRE_ROLL_S = 0.4  # microphone audio kept from before the detected start of speech
PARTIAL_EVERY_S = 1.0  # seconds of new speech before the page is shown the transcript so far again
END_OF_TURN_S = 0.5  # quiet that ends the person's turn (Silero: speech probability < 0.35 throughout)
SPECULATE_AFTER_S = 0.1  # quiet in an utterance before its final transcript is begun


@dataclass(frozen=True, slots=True)
class Heard:
    """The end of one spoken turn: its transcript and recording (16 kHz mono float32)."""

    text: str
    pcm: np.ndarray
    ended_at: float  # time.monotonic() at the end of the person's speech


class Jobs:
    """One thread that runs jobs in order (a microphone's transcriptions; a session's prefills).
    A job not of kind "final" is skipped when a newer one waits (the newer one covers more);
    final jobs always run, also after `close` (a turn that ended before the microphone went off
    is still answered)."""

    def __init__(self, name: str = "live-asr") -> None:
        self._name = name
        self._jobs: deque[tuple[str, Callable[[], None]]] = deque()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, kind: str, job: Callable[[], None]) -> None:
        with self._cv:
            if self._closed and kind != "final":
                return
            self._jobs.append((kind, job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._jobs and not self._closed:
                    self._cv.wait()
                if not self._jobs:
                    return
                kind, job = self._jobs.popleft()
                superseded = kind != "final" and bool(self._jobs)
            if not superseded:
                job()


class Mic:
    """The page's microphone: voice activity, barge-in, the listening motion, transcription.

    Speech is transcribed while the person speaks (dialogue.asr.streaming.StreamingTranscriber,
    one per utterance): the transcript so far goes to the page as a "partial" every
    `PARTIAL_EVERY_S` of new speech, and once the person has been quiet for `SPECULATE_AFTER_S`
    the utterance so far is transcribed for good while the VAD waits out the rest of its
    end-of-turn silence; audio of that quiet stretch is held back and only transcribed when the
    person goes on speaking. So the final transcript is (almost) ready when the turn ends.
    """

    def __init__(self, session: LiveSession):
        self.session = session
        self.vad = None
        self._lock = threading.Lock()
        self._buffer: list[np.ndarray] = []  # the open utterance (with pre-roll), or the pre-roll
        self._buffered = 0
        self._in_speech = False
        self._stream_s = 0.0  # seconds of audio fed since the microphone was switched on
        self._jobs = Jobs()
        self._st = None  # the open utterance's StreamingTranscriber
        self._held: list[np.ndarray] = []  # audio of a quiet stretch in the utterance, not transcribed yet
        # the quiet stretch whose speculative transcript is being made (a token; None: none): the
        # person may speak on from it, and then that transcript is no news
        self._speculated: object | None = None
        self._partial_at = 0.0  # seconds of utterance transcribed for the last partial job

    def on(self) -> None:
        with self._lock:
            self.vad = self.session._vad_factory()
            self._buffer, self._buffered, self._in_speech, self._stream_s = [], 0, False, 0.0
            self._jobs.close()
            self._jobs = Jobs()
            self._st, self._held = None, []
            self._jobs.submit("load", self._load_recogniser)  # while the person starts to speak

    @property
    def quiet(self) -> bool:
        """The person has paused in the utterance (its speculative transcript is begun)."""
        return self._speculated is not None

    def off(self) -> None:
        with self._lock:
            self.vad = None
            self._buffer, self._buffered, self._in_speech = [], 0, False
            self._jobs.close()
            self._st, self._held = None, []

    def feed(self, pcm: np.ndarray) -> None:
        s = self.session
        with self._lock:
            if self.vad is None:
                return
            now = time.monotonic()
            self._stream_s += len(pcm) / MIC_RATE
            self._buffer.append(pcm)
            self._buffered += len(pcm)
            if not self._in_speech:
                self._trim_pre_roll()
            events = self.vad.feed(pcm)
            started = False
            for event in events:
                ago_ms = 1000.0 * (self._stream_s - event.t_s)  # how long before `now` it happened
                if event.kind == "start" and not self._in_speech:
                    self._in_speech = started = True
                    self._start_event(now, ago_ms)
                    self._begin_utterance()
                elif event.kind == "end" and self._in_speech:
                    self._in_speech = False
                    utterance = np.concatenate(self._buffer)
                    cut = int(round((self._stream_s - event.t_s) * MIC_RATE))  # the silence after it
                    utterance = utterance[: max(0, len(utterance) - cut)]
                    self._buffer, self._buffered = [], 0
                    self._end_utterance(utterance, now - ago_ms / 1000.0, now)
            if self._in_speech and not started:
                self._follow(pcm)
        s.presence.hear(pcm, MIC_RATE)

    def _start_event(self, now: float, ago_ms: float) -> None:
        s = self.session
        if s.presence.state is PresenceState.SPEAKING or s.presence.queued:
            frame = s.presence.barge_in()
            s.cut()
            s.emit({"type": "barge", "t": s.media_time(frame), "since_start_ms": ago_ms})
        elif s.presence.state is PresenceState.THINKING:
            # they go on speaking before the reply began (a pause ended their turn): the reply is
            # cancelled (app.conversation stops it at its next sentence) rather than said over
            # them, and the avatar listens; nothing was said, so nothing to cut
            s.presence.barge_in()
        else:
            s.presence.listen(True)
        s.emit({"type": "speech", "since_start_ms": ago_ms})

    def _trim_pre_roll(self) -> None:
        keep = int(PRE_ROLL_S * MIC_RATE)
        while self._buffer and self._buffered - len(self._buffer[0]) >= keep:
            self._buffered -= len(self._buffer.pop(0))

    # --- transcription while the person speaks (lock held) ------------------------------------

    def _begin_utterance(self) -> None:
        """Speech started: a transcriber for this utterance, fed its pre-roll and first chunk."""
        self._st, self._held, self._speculated, self._partial_at = None, [], None, 0.0
        if self.session._asr is None:
            return
        try:
            self._st = StreamingTranscriber(self.session._asr(), MIC_RATE, partial_every_s=PARTIAL_EVERY_S)
        except Exception as exc:  # no recogniser: the turn's end says so (see _final)
            log.warning("live recogniser unavailable: %s", exc)
            return
        self._st.feed(np.concatenate(self._buffer))

    def _follow(self, pcm: np.ndarray) -> None:
        """A chunk inside the open utterance: transcribed on (a partial now and then), or held
        back while the person is quiet; a long enough quiet stretch starts the final transcript."""
        st = self._st
        if st is None:
            return
        if getattr(self.vad, "silence_s", 0.0) > 0.0:
            self._held.append(pcm)
            if self._speculated is None and self.vad.silence_s >= SPECULATE_AFTER_S:
                quiet = self._speculated = object()
                self._jobs.submit("speculate", lambda: self._partial(st, quiet=quiet))
            return
        for held in self._held:  # the person went on: the quiet stretch is part of the utterance
            st.feed(held)
        self._held, self._speculated = [], None
        st.feed(pcm)
        if st.duration_s - self._partial_at >= PARTIAL_EVERY_S:
            self._partial_at = st.duration_s
            self._jobs.submit("partial", lambda: self._partial(st))

    def _end_utterance(self, pcm: np.ndarray, ended_at: float, now: float) -> None:
        st, self._st, self._held = self._st, None, []
        s = self.session
        s.mark("vad_end", now, speech_end=ended_at)
        s.turn_pending()  # its transcript is on the way: prefills begun now would delay its turn
        self._jobs.submit("final", lambda: self._final(st, pcm, ended_at))

    # --- the transcription thread ---------------------------------------------------------------

    def _load_recogniser(self) -> None:
        """Load the speech model now (WhisperASR loads on first use: that would be the first partial)."""
        if self.session._asr is None:
            return
        try:
            getattr(self.session._asr(), "load", lambda: None)()
        except Exception as exc:  # the first utterance reports it
            log.warning("live recogniser failed to load: %s", exc)

    def _partial(self, st, quiet: object | None = None) -> None:
        """A partial transcript (quiet None) or the speculative one of the quiet stretch `quiet`."""
        final = quiet is not None
        t0 = time.monotonic()
        try:
            text = st.finish() if final else st.partial()
        except Exception as exc:  # a partial that fails is no news; the final one reports it
            log.debug("live partial transcription failed: %s", exc)
            return
        self.session.mark("asr", t0, kind="speculative" if final else "partial", seconds=time.monotonic() - t0,
                          audio_s=st.duration_s)
        if text and st is self._st:  # still the open utterance
            self.session.emit({"type": "partial", "text": text})
            # the reply's prompt so far, evaluated while they speak: the speculative transcript
            # (the turn's own, unless they go on); a partial's settled words only while they speak
            # (in a quiet stretch the speculative one follows, and a partial's evaluation would
            # slow it down), so that the final transcript continues what was evaluated
            if final:
                # only while they are still quiet: the utterance goes on when they speak on from
                # it, and evaluating a beginning of it would make the model busy when the turn comes
                if quiet is self._speculated:
                    self.session.prefill(text)
            elif self._speculated is None:
                self.session.prefill(settled(text), partial=True)

    def _final(self, st, pcm: np.ndarray, ended_at: float) -> None:
        s = self.session
        text = ""
        if s._asr is not None and len(pcm) >= MIC_RATE * 0.2:
            try:
                if st is None:
                    text = s._asr().transcribe(pcm, MIC_RATE).text.strip()
                else:
                    text = st.finish()
            except Exception as exc:  # an unusable utterance: the page says so and listens on
                log.warning("live transcription failed: %s", exc)
                s.emit({"type": "notice", "message": f"could not transcribe that: {exc}"})
        since_end_ms = 1000.0 * (time.monotonic() - ended_at)
        s.mark("transcript", speech_end=ended_at, chars=len(text))
        if not text:
            s.turn_pending(False)  # nothing to answer
            s.presence.listen(False)
            s.emit({"type": "transcript", "text": "", "since_end_ms": since_end_ms})
            return
        s.heard = Heard(text, pcm, ended_at)
        s.emit({"type": "transcript", "text": text, "since_end_ms": since_end_ms})


def default_vad():
    from dialogue.asr.vad import make_streaming_vad

    return make_streaming_vad(MIC_RATE, end_silence_s=END_OF_TURN_S)
