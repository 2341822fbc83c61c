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
    tts_s: float
    motion_s: float
    render_encode_s: float
    speech: SpeechClip | None = None
    motion: MotionClip | None = None


def render_utterance(text: str, emotion: EmotionState, out: str | Path, tts: TTS,
                     motion_generator: MotionGenerator, renderer: Renderer,
                     voice: VoiceSettings | None = None, profile: EmotionProfile | None = None,
                     seed: int | None = None, previous: MotionClip | None = None,
                     style: str | None = None) -> RenderReport:
    """Speak `text` with `emotion`, generate the speaking motion, render and encode to `out` (MP4).

    previous: the last frames shown before (continuity); style: a named talking style.

    Frames are rendered lazily inside the encoder loop (no whole-clip frame buffer).
    Raises whatever the TTS/motion backends raise; ValueError on empty text.
    """
    if not text.strip():
        raise ValueError("nothing to say: empty text")
    t0 = time.perf_counter()
    speech = tts.synthesize(text, voice or VoiceSettings(), emotion)
    t1 = time.perf_counter()
    request = MotionRequest(role=Role.SPEAKING, emotion=emotion,
                            profile=profile or EmotionProfile(name="default"), speech=speech, seed=seed,
                            previous=previous, style=style)
    motion = motion_generator.generate(request)
    t2 = time.perf_counter()
    n = encode_mp4(renderer.stream_frames(motion), out, fps=motion.fps, audio=speech.pcm,
                   sample_rate=speech.sample_rate)
    t3 = time.perf_counter()
    report = RenderReport(Path(out), n, n / motion.fps, t1 - t0, t2 - t1, t3 - t2, speech, motion)
    log.info("rendered %s: %d frames, tts %.2fs, motion %.2fs, render+encode %.2fs",
             out, n, report.tts_s, report.motion_s, report.render_encode_s)
    return report
