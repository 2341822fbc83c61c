"""The avatar pipeline: what the avatar says or hears -> voice -> motion -> segments -> a sink.

An `AvatarPipeline` is assembled once per persona from its components (TTS, motion generator,
renderer, the persona's voice, emotion profile and talking style) and runs one loop,
`AvatarPipeline.stream`, used by every producer of avatar video:

    for each request (Say text | Listen for seconds):
        Say:    TTS -> SpeechClip -> speaking motion continuing from `continuity`
        Listen: listening motion (driven by the partner's speech when given) from `continuity`
        continuity.remember(motion)
        cut into parts -> sink.put(Segment)   # sink: MP4 files, or a live stream's queue

The sink decides where frames are made: `Mp4Folder` renders and encodes each part to a file
(chat clips, preview, `warmchat render`, export); a live stream takes the segment as it is and
renders its frames in real time (app/live.py). Continuity (the last motion frames) belongs to
whoever owns the stream: a conversation or a live session passes its own `Continuity`.

A produced piece of avatar output is always a `Segment` (saved beside its MP4 as .npz by
`save_segment`, read back by `load_segment`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from avatar.motion.base import MotionGenerator, MotionRequest
from avatar.motion.clip import MotionClip, Role
from avatar.motion.io import slice_clip
from avatar.render.base import Renderer
from avatar.voice.base import TTS, SpeechClip, VoiceSettings
from emotion import EmotionState
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)

CONTEXT_FRAMES = 10  # frames of the previous motion handed to the generator for continuity


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One produced piece of avatar output: motion, the audio heard with it, and what it is.

    role: SPEAKING (`speech` is the avatar's own voice) or LISTENING (`speech` is the partner's
        voice, or None for silence: the avatar idles or hears typing).
    motion: the frames' motion at motion.fps; the segment lasts motion.duration seconds.
    emotion: the avatar's emotion (speaking) or the partner's (listening), passed through as given.
    text: the words said or heard in this segment ("" for a continuation part).
    video: an encoded MP4 of exactly these frames and their audio, once a sink wrote one.
    saved: the .npz the segment is kept in (`save_segment`), once a sink kept it.
    """

    role: Role
    motion: MotionClip
    emotion: EmotionState
    speech: SpeechClip | None = None
    text: str = ""
    video: Path | None = None
    saved: Path | None = None

    @property
    def duration(self) -> float:
        return self.motion.duration

    def pcm(self, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
        """(mono float32 samples, rate) covering exactly the segment's frames: the speech cut or
        zero-padded to the motion's length, resampled to `sample_rate` when given; silence when
        the segment has no speech."""
        sr = sample_rate or (self.speech.sample_rate if self.speech is not None else 16000)
        n = int(round(self.motion.num_frames * sr / self.motion.fps))
        out = np.zeros(n, np.float32)
        if self.speech is not None and len(self.speech.pcm):
            pcm = np.asarray(self.speech.pcm, np.float32)
            if self.speech.sample_rate != sr:
                pcm = resample(pcm, self.speech.sample_rate, sr)
            out[: min(n, len(pcm))] = pcm[:n]
        return out, sr

    def part(self, start: int, stop: int) -> "Segment":
        """Frames [start, stop) with their audio (timings dropped; text kept on the first part)."""
        if (start, stop) == (0, self.motion.num_frames):
            return self
        speech = None
        if self.speech is not None:
            sr = self.speech.sample_rate
            a, b = round(start * sr / self.motion.fps), round(stop * sr / self.motion.fps)
            speech = SpeechClip(self.speech.pcm[a:b], sr, text=self.speech.text if start == 0 else "")
        return replace(self, motion=slice_clip(self.motion, start, stop), speech=speech,
                       text=self.text if start == 0 else "", video=None, saved=None)


@dataclass(frozen=True, slots=True)
class Say:
    """The avatar says `text` with `emotion`. first_part_s: cut that many seconds off the start as
    a part of its own (so playback of an encoded file can start sooner); None: one part."""

    text: str
    emotion: EmotionState
    first_part_s: float | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Listen:
    """The avatar listens for `seconds` to a partner feeling `partner_emotion`, hearing
    `partner_speech` when given (its pauses drive nods), else idling attentively."""

    seconds: float
    partner_emotion: EmotionState
    partner_speech: SpeechClip | None = None
    text: str = ""
    seed: int | None = None


Request = Say | Listen


@dataclass
class Continuity:
    """The last motion frames the avatar was given to show, so the next motion joins without a
    seam. Owned by whoever owns the stream of segments (a conversation, a live session)."""

    tail: MotionClip | None = None
    frames: int = CONTEXT_FRAMES

    def remember(self, motion: MotionClip) -> None:
        if motion.num_frames == 0:
            return
        self.tail = slice_clip(motion, max(0, motion.num_frames - self.frames))


class SegmentSink(Protocol):
    """Where the pipeline's segments go (files, a live stream)."""

    def put(self, segment: Segment) -> Segment:
        """Take one segment; return it as produced (e.g. with `video` set)."""
        ...


# --- the pipeline ------------------------------------------------------------------------------


@dataclass
class AvatarPipeline:
    """One avatar's components assembled: voice, motion, renderer (shared, read-only use)."""

    tts: TTS
    motion: MotionGenerator
    renderer: Renderer
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    profile: EmotionProfile = field(default_factory=lambda: EmotionProfile(name="default"))
    style: str | None = None

    def stream(self, requests: Iterable[Request], continuity: Continuity, sink: SegmentSink) -> Iterator[Segment]:
        """The pipeline's loop: each request -> voice (Say) -> motion from `continuity` -> parts
        -> `sink.put`. Yields each part as the sink returns it.

        Blocks per request for its TTS and motion generation, and for whatever the sink does
        (`Mp4Folder` renders and encodes there). Raises what the backends raise; ValueError for
        an empty text.
        """
        for request in requests:
            t0 = time.perf_counter()
            segment = self.make(request, continuity.tail)
            continuity.remember(segment.motion)
            first = getattr(request, "first_part_s", None)
            for start, stop in part_spans(segment.motion.num_frames, segment.motion.fps, first):
                yield sink.put(segment.part(start, stop))
            log.debug("%s %.1f s in %.2f s", segment.role.value, segment.duration, time.perf_counter() - t0)

    def make(self, request: Request, previous: MotionClip | None = None) -> Segment:
        """One request as a segment (voice and motion; no frames yet)."""
        if isinstance(request, Say):
            if not request.text.strip():
                raise ValueError("nothing to say: empty text")
            speech = self.tts.synthesize(request.text, self.voice, request.emotion)
            motion = self.motion.generate(MotionRequest(
                role=Role.SPEAKING, emotion=request.emotion, profile=self.profile, speech=speech,
                previous=previous, style=self.style, seed=request.seed))
            return Segment(Role.SPEAKING, motion, request.emotion, speech, request.text)
        motion = self.motion.generate(MotionRequest(
            role=Role.LISTENING, emotion=request.partner_emotion, profile=self.profile,
            speech=request.partner_speech, duration_s=request.seconds, previous=previous, style=self.style,
            seed=request.seed))
        return Segment(Role.LISTENING, motion, request.partner_emotion, request.partner_speech, request.text)

    def frames(self, segment: Segment) -> Iterator[np.ndarray]:
        """The segment's frames, (size, size, 3) uint8 RGB, rendered lazily one by one."""
        return self.renderer.stream_frames(segment.motion)

    def encode(self, segment: Segment, out: Path) -> Segment:
        """Render and encode `segment` to `out` (H.264/AAC MP4); the segment with `video` set."""
        from avatar.video.encode import encode_mp4

        out.parent.mkdir(parents=True, exist_ok=True)
        pcm, sr = segment.pcm()
        encode_mp4(self.frames(segment), out, fps=segment.motion.fps, audio=pcm, sample_rate=sr)
        return replace(segment, video=out)


def part_spans(num_frames: int, fps: int, first_part_s: float | None) -> list[tuple[int, int]]:
    """Frame spans a segment is cut into: [0, first) and the rest when `first_part_s` is given
    and the rest is at least as long; else one span."""
    if first_part_s:
        k = max(1, int(round(first_part_s * fps)))
        if num_frames >= 2 * k:
            return [(0, k), (k, num_frames)]
    return [(0, num_frames)]


# --- sinks -------------------------------------------------------------------------------------


class Mp4Folder:
    """A sink that keeps each segment in `folder` as `<stem>-<n>.npz` (what it was made from,
    for export) and, when `encode`, renders and encodes it to `<stem>-<n>.mp4`; then hands it to
    `forward` (a live stream) if given. Without `encode`, `forward` gets it first (the live
    stream plays it sooner) and the file is written after."""

    def __init__(self, pipeline: AvatarPipeline, folder: Path, stem: str = "seg", encode: bool = True,
                 forward: SegmentSink | None = None):
        self.pipeline = pipeline
        self.folder = Path(folder)
        self.stem = stem
        self.encode = encode
        self.forward = forward
        self._n = 0

    def put(self, segment: Segment) -> Segment:
        self.folder.mkdir(parents=True, exist_ok=True)
        base = self.folder / f"{self.stem}-{self._n}"
        self._n += 1
        if self.encode:
            segment = self.pipeline.encode(segment, base.with_suffix(".mp4"))
        elif self.forward is not None:  # a live stream: it plays the segment first, the file is kept after
            segment = self.forward.put(segment)
        save_segment(base.with_suffix(".npz"), segment)
        segment = replace(segment, saved=base.with_suffix(".npz"))
        return self.forward.put(segment) if self.forward is not None and self.encode else segment


class Mp4File:
    """A sink that encodes one segment to `out` exactly (plus `out`.npz); a second segment is an error."""

    def __init__(self, pipeline: AvatarPipeline, out: Path):
        self.pipeline = pipeline
        self.out = Path(out)
        self._used = False

    def put(self, segment: Segment) -> Segment:
        if self._used:
            raise ValueError(f"{self.out} already holds a segment")
        self._used = True
        segment = self.pipeline.encode(segment, self.out)
        save_segment(self.out.with_suffix(".npz"), segment)
        return replace(segment, saved=self.out.with_suffix(".npz"))


# --- saved segments ----------------------------------------------------------------------------


def save_segment(path: Path, segment: Segment) -> None:
    """Keep what a segment was made from (motion, audio, text, emotion, role), so export can
    rebuild its audio exactly, write motion CSV and render it again."""
    m = segment.motion
    arrays = {"pose": m.pose, "gaze": m.gaze, "expression": m.expression, "fps": np.int32(m.fps),
              "role": np.array(segment.role.value), "text": np.array(segment.text),
              "emotion": np.array(segment.emotion.model_dump_json())}
    if segment.speech is not None:
        arrays |= {"pcm": segment.speech.pcm.astype(np.float32), "sample_rate": np.int32(segment.speech.sample_rate)}
    np.savez_compressed(path, **arrays)


def load_segment(path: Path) -> Segment:
    """The segment saved at `path` by `save_segment` (an .npz); `video` is the .mp4 beside it
    when there is one. Older files without emotion read as neutral."""
    path = Path(path)
    with np.load(path) as z:
        role = Role(str(z["role"]))
        motion = MotionClip(z["pose"], z["gaze"], z["expression"], int(z["fps"]), role)
        text = str(z["text"]) if "text" in z else ""
        emotion = EmotionState.model_validate_json(str(z["emotion"])) if "emotion" in z else EmotionState.neutral()
        speech = SpeechClip(z["pcm"], int(z["sample_rate"]), text=text) if "pcm" in z else None
    mp4 = path.with_suffix(".mp4")
    return Segment(role, motion, emotion, speech, text, mp4 if mp4.is_file() else None, path)


def resample(pcm: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Mono float32 audio from `sr_in` to `sr_out` Hz (polyphase filter)."""
    if sr_in == sr_out:
        return np.asarray(pcm, np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(np.asarray(pcm, np.float32), sr_out // g, sr_in // g).astype(np.float32)
