"""Render one utterance end to end: TTS -> motion -> frames -> MP4.

The CLI owner wires `warmchat render --text ... --emotion happy --avatar NAME --out clip.mp4`
to `render_utterance`; the TTS and the motion generator are passed in (they live elsewhere).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from avatar.motion.base import MotionGenerator, MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.render.base import Renderer
from avatar.video.encode import encode_mp4
from avatar.voice.base import TTS, SpeechClip, VoiceSettings
from emotion import EmotionState
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderReport:
    """Where the clip went and where the time went (seconds)."""

    path: Path
    num_frames: int
    duration_s: float
    voice_motion_s: float  # TTS + motion generation
    render_encode_s: float
    speech: SpeechClip | None = None
    motion: MotionClip | None = None


def speech_and_motion(text: str, emotion: EmotionState, tts: TTS, motion_generator: MotionGenerator,
                      voice: VoiceSettings | None = None, profile: EmotionProfile | None = None,
                      seed: int | None = None, previous: MotionClip | None = None,
                      style: str | None = None) -> tuple[SpeechClip, MotionClip]:
    """Speak `text` with `emotion` and generate the speaking motion for it.

    previous: the last frames shown before (continuity); style: a named talking style.
    Raises whatever the TTS/motion backends raise; ValueError on empty text.
    """
    if not text.strip():
        raise ValueError("nothing to say: empty text")
    speech = tts.synthesize(text, voice or VoiceSettings(), emotion)
    request = MotionRequest(role=Role.SPEAKING, emotion=emotion,
                            profile=profile or EmotionProfile(name="default"), speech=speech, seed=seed,
                            previous=previous, style=style)
    return speech, motion_generator.generate(request)


def encode_span(renderer: Renderer, motion: MotionClip, speech: SpeechClip | None, out: str | Path,
                start: int = 0, stop: int | None = None) -> int:
    """Render frames [start, stop) of `motion` and encode them, with the audio of the same span,
    to `out` (MP4). Frames are rendered lazily inside the encoder loop. Returns the frame count."""
    from avatar.motion.io import slice_clip

    part = slice_clip(motion, start, stop)
    pcm, sr = None, 16000
    if speech is not None:
        sr = speech.sample_rate
        a = round(start * sr / motion.fps)
        b = round(part.num_frames * sr / motion.fps) + a
        pcm = speech.pcm[a:b]
    return encode_mp4(renderer.stream_frames(part), out, fps=motion.fps, audio=pcm, sample_rate=sr)


def render_utterance(text: str, emotion: EmotionState, out: str | Path, tts: TTS,
                     motion_generator: MotionGenerator, renderer: Renderer,
                     voice: VoiceSettings | None = None, profile: EmotionProfile | None = None,
                     seed: int | None = None, previous: MotionClip | None = None,
                     style: str | None = None) -> RenderReport:
    """Speak `text` with `emotion`, generate the speaking motion, render and encode to `out` (MP4).

    previous: the last frames shown before (continuity); style: a named talking style.
    Raises whatever the TTS/motion backends raise; ValueError on empty text.
    """
    t0 = time.perf_counter()
    speech, motion = speech_and_motion(text, emotion, tts, motion_generator, voice, profile, seed, previous, style)
    t2 = time.perf_counter()
    n = encode_span(renderer, motion, speech, out)
    t3 = time.perf_counter()
    report = RenderReport(Path(out), n, n / motion.fps, t2 - t0, t3 - t2, speech, motion)
    log.info("rendered %s: %d frames, tts+motion %.2fs, render+encode %.2fs", out, n, t2 - t0, t3 - t2)
    return report
