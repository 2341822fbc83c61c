"""The avatar pipeline: a sentence -> voice -> motion -> frames -> an MP4 segment on disk.

Heavy components (TTS worker, motion model, portrait analysis) load lazily on first use and are
shared by all conversations; per-conversation continuity (the last motion frames shown) is kept
in a dict keyed by conversation id, guarded by a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.personas import Persona
from app.settings import Settings
from avatar.motion.base import MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.motion.io import slice_clip
from avatar.voice.base import SpeechClip, VoiceSettings
from dialogue.turns import media_folder
from emotion import Emotion, EmotionState
from emotion.builtin import get_profile
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)

CONTEXT_FRAMES = 10  # frames of the previous segment handed to the generator for continuity


@dataclass(frozen=True, slots=True)
class RenderedSegment:
    """A piece of avatar video with everything it was made from (for export and caching)."""

    video: Path
    speech: SpeechClip | None
    motion: MotionClip


class AvatarPipeline:
    """Voice, motion and rendering for every persona; one instance per process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._tts: dict[str, object] = {}
        self._motion = None
        self._renderers: dict[str, object] = {}
        self._previous: dict[str, MotionClip] = {}

    # --- components (lazy, shared) -----------------------------------------------------------

    def tts(self, backend: str):
        from avatar.voice import make_tts

        with self._lock:
            if backend not in self._tts:
                self._tts[backend] = make_tts(backend, self.settings.tts)
            return self._tts[backend]

    def motion(self):
        from avatar.motion.generator import make_motion_generator

        with self._lock:
            if self._motion is None:
                self._motion = make_motion_generator(self.settings.motion, styles_dir=self.settings.styles_dir)
            return self._motion

    def renderer(self, avatar: str):
        from avatar.render import make_renderer

        with self._lock:
            if avatar not in self._renderers:
                self._renderers[avatar] = make_renderer(_avatar_ref(avatar, self.settings), self.settings.render,
                                                        cache_dir=self.settings.data_dir / "cache" / "portraits")
            return self._renderers[avatar]

    def profile(self, persona: Persona) -> EmotionProfile:
        return get_profile(persona.emotion_profile, self.settings.profiles_dir)

    # --- segments ----------------------------------------------------------------------------

    def media_dir(self, conversation_id: str, turn_id: str) -> str:
        """Folder of a turn's media, relative to the data dir."""
        return media_folder(conversation_id, turn_id)

    def warm_up(self, persona: Persona, moods: bool = False) -> None:
        """Load the persona's voice, the motion model and its avatar, and render its listening
        clip (for every emotion when `moods`), so the first reply does not pay for loading."""
        t0 = time.perf_counter()
        tts = self.tts(persona.voice.backend or self.settings.tts.default_backend)
        start = getattr(tts, "start", None)  # engines in a worker process (piper) start it now
        if start is not None:
            start()
        self.motion()
        self.renderer(persona.avatar)
        for label in Emotion if moods else (Emotion.NEUTRAL,):
            self.listening_clip(persona, EmotionState.of(label, 0.7))
        log.info("avatar pipeline ready for %s in %.1f s", persona.name, time.perf_counter() - t0)

    def listening_clip(self, persona: Persona, emotion: EmotionState | None = None, seconds: float = 6.0) -> str:
        """A looping clip of the persona's avatar listening to a person who feels `emotion`
        (mirrored as the profile says; neutral: attentive idling). Rendered once per emotion label,
        then reused from disk."""
        label = emotion.label if emotion is not None else Emotion.NEUTRAL
        name = f"{persona.emotion_profile}-{Path(persona.avatar).stem}-{label.value}.mp4"
        out = self.settings.data_dir / "media" / "listen" / name
        if not out.is_file():
            self.listen(persona, seconds, EmotionState.of(label, 0.7), out)
        return str(out)

    def speak_sentence(self, sentence: str, emotion: EmotionState, persona: Persona, conversation_id: str,
                       turn_id: str, index: int) -> Iterator[tuple[str, float]]:
        """Render one sentence of a reply into `<data>/media/<conv>/<turn>/<index>-<part>.mp4`
        (+ a .npz of speech and motion per part, for export). Yields (path, duration in s) per part.

        The reply's first sentence is cut into a first second and the rest, so the avatar's video
        can start playing while the rest of the sentence is still being rendered.
        """
        from avatar.render.cli import encode_span, speech_and_motion

        folder = self.settings.data_dir / self.media_dir(conversation_id, turn_id)
        folder.mkdir(parents=True, exist_ok=True)
        speech, motion = speech_and_motion(
            sentence, emotion, tts=self.tts(persona.voice.backend or self.settings.tts.default_backend),
            motion_generator=self.motion(), voice=persona.voice, profile=self.profile(persona),
            previous=self._context(conversation_id), style=persona.motion_style or None)
        self._remember(conversation_id, motion)
        renderer = self.renderer(persona.avatar)
        for part, (start, stop) in enumerate(segment_spans(motion.num_frames, motion.fps, first=index == 0)):
            out = folder / f"{index:03d}-{part}.mp4"
            encode_span(renderer, motion, speech, out, start, stop)
            save_segment(out.with_suffix(".npz"), _slice_speech(speech, motion.fps, start, stop),
                         slice_clip(motion, start, stop))
            yield str(out), (stop - start) / motion.fps

    def speak(self, text: str, emotion: EmotionState, persona: Persona, out: Path,
              continuity_key: str | None = None) -> RenderedSegment:
        """The avatar says `text` with `emotion`: TTS -> motion (speaking) -> frames -> `out` (MP4)."""
        from avatar.render.cli import render_utterance

        voice: VoiceSettings = persona.voice
        out.parent.mkdir(parents=True, exist_ok=True)
        report = render_utterance(
            text, emotion, out, tts=self.tts(voice.backend or self.settings.tts.default_backend),
            motion_generator=self.motion(), renderer=self.renderer(persona.avatar), voice=voice,
            profile=self.profile(persona), previous=self._context(continuity_key),
            style=persona.motion_style or None)
        self._remember(continuity_key, report.motion)
        save_segment(out.with_suffix(".npz"), report.speech, report.motion)
        return RenderedSegment(out, report.speech, report.motion)

    def listen(self, persona: Persona, duration_s: float, partner_emotion: EmotionState, out: Path,
               partner_speech: SpeechClip | None = None, continuity_key: str | None = None) -> RenderedSegment:
        """The avatar listens for `duration_s` (to `partner_speech` if given): motion -> `out` (MP4)."""
        motion = self.motion().generate(MotionRequest(
            role=Role.LISTENING, emotion=partner_emotion, profile=self.profile(persona), speech=partner_speech,
            duration_s=duration_s, previous=self._context(continuity_key)))
        self._remember(continuity_key, motion)
        n = int(round(motion.duration * 16000))
        if partner_speech is not None:
            pcm, sr = _fit(partner_speech.pcm, partner_speech.sample_rate, motion.duration), partner_speech.sample_rate
        else:
            pcm, sr = np.zeros(n, np.float32), 16000
        self._encode(persona, motion, pcm, sr, out)
        save_segment(out.with_suffix(".npz"), partner_speech, motion)
        return RenderedSegment(out, partner_speech, motion)

    def _encode(self, persona: Persona, motion: MotionClip, pcm: np.ndarray, sr: int, out: Path) -> None:
        from avatar.video.encode import encode_mp4

        out.parent.mkdir(parents=True, exist_ok=True)
        frames = self.renderer(persona.avatar).stream_frames(motion)
        encode_mp4(frames, out, fps=motion.fps, audio=pcm, sample_rate=sr)

    def _context(self, key: str | None) -> MotionClip | None:
        if key is None:
            return None
        with self._lock:
            return self._previous.get(key)

    def _remember(self, key: str | None, motion: MotionClip) -> None:
        if key is None or motion.num_frames == 0:
            return
        k = min(CONTEXT_FRAMES, motion.num_frames)
        tail = MotionClip(motion.pose[-k:], motion.gaze[-k:], motion.expression[-k:], motion.fps, motion.role)
        with self._lock:
            self._previous[key] = tail


def segment_spans(num_frames: int, fps: int, first: bool) -> list[tuple[int, int]]:
    """Frame spans a sentence is encoded in: the reply's first sentence as its first second and
    the rest (when the rest is at least a second long), any other sentence whole."""
    if first and num_frames >= 2 * fps:
        return [(0, fps), (fps, num_frames)]
    return [(0, num_frames)]


def _slice_speech(speech: SpeechClip, fps: int, start: int, stop: int) -> SpeechClip:
    """The audio of frames [start, stop) (timings are not needed by export and are dropped)."""
    sr = speech.sample_rate
    return SpeechClip(speech.pcm[round(start * sr / fps): round(stop * sr / fps)], sr, text=speech.text if start == 0 else "")


def _fit(pcm: np.ndarray, sr: int, duration_s: float) -> np.ndarray:
    """Pad with silence or trim `pcm` to exactly `duration_s`."""
    n = int(round(duration_s * sr))
    out = np.zeros(n, np.float32)
    out[: min(n, len(pcm))] = pcm[:n]
    return out


def _avatar_ref(avatar: str, settings: Settings) -> str:
    """A persona's avatar: a built-in name, a file in the user's avatars dir, or a path."""
    user_file = settings.avatars_dir / avatar
    return str(user_file) if user_file.is_file() else avatar


def save_segment(path: Path, speech: SpeechClip | None, motion: MotionClip) -> None:
    """Keep what a segment was made from, so export can rebuild audio exactly and write motion CSV."""
    arrays = {"pose": motion.pose, "gaze": motion.gaze, "expression": motion.expression,
              "fps": np.int32(motion.fps), "role": np.array(motion.role.value)}
    if speech is not None:
        arrays |= {"pcm": speech.pcm.astype(np.float32), "sample_rate": np.int32(speech.sample_rate),
                   "text": np.array(speech.text)}
    np.savez_compressed(path, **arrays)


def load_segment(path: Path) -> tuple[MotionClip, np.ndarray | None, int]:
    """(motion, pcm or None, sample_rate) of a segment saved by `save_segment`."""
    with np.load(path) as z:
        motion = MotionClip(z["pose"], z["gaze"], z["expression"], int(z["fps"]), Role(str(z["role"])))
        if "pcm" in z:
            return motion, z["pcm"], int(z["sample_rate"])
    return motion, None, 16000
