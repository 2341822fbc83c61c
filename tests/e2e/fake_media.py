"""A fast stand-in for the avatar pipeline: a tiny H.264/AAC MP4 per sentence (PyAV)."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

COLOURS = {"happy": (242, 183, 5), "sad": (59, 111, 216), "angry": (214, 69, 65), "neutral": (138, 143, 152)}


def write_clip(path: Path, rgb: tuple[int, int, int], frames: int = 10, size: int = 64, fps: int = 25,
               image: np.ndarray | None = None) -> float:
    """A solid-colour clip (or `image`, (size, size, 3) uint8, tinted by `rgb`) with silent audio;
    returns its duration in seconds."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width = v.height = size
        v.pix_fmt = "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        img = np.empty((size, size, 3), np.uint8)
        img[:] = rgb
        if image is not None:
            img = (0.85 * image + 0.15 * img).astype(np.uint8)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for pkt in v.encode(frame):
                out.mux(pkt)
        for pkt in v.encode():
            out.mux(pkt)
        n = int(16000 * frames / fps)
        samples = np.zeros((1, n), np.float32)
        aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        aframe.sample_rate = 16000
        aframe.pts = 0
        aframe.time_base = Fraction(1, 16000)
        for pkt in a.encode(aframe):
            out.mux(pkt)
        for pkt in a.encode():
            out.mux(pkt)
    return frames / fps


class FakeSpeak:
    """services.avatar stand-in (app.turn_events.SentenceSpeaker): a solid-colour clip per sentence."""

    def __init__(self, out_dir: Path, image: np.ndarray | None = None, frames: int = 10):
        self.image = image
        self.frames = frames
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self._lock = threading.Lock()

    def media_dir(self, conversation_id, turn_id):
        from app.access import private_folder

        return f"media/{private_folder(self.out_dir.parent, conversation_id)}/{turn_id}"

    def listening_clip(self, persona, emotion=None) -> str:
        path = self.out_dir / "listening.mp4"
        if not path.is_file():
            write_clip(path, (90, 160, 120), frames=25)
        return str(path)

    def pipeline(self, persona=None, size=None):
        """The live stream's pipeline: a hummed tone (no TTS), the procedural teacher's motion and
        the stylized face at 128 px (cheap enough for several pages on a loaded machine)."""
        from avatar.motion.generator import TeacherMotionGenerator
        from avatar.pipeline import AvatarPipeline
        from avatar.render.stylized import StylizedRenderer

        with self._lock:
            if getattr(self, "_pipeline", None) is None:
                self._pipeline = AvatarPipeline(ToneTTS(), TeacherMotionGenerator(), StylizedRenderer(128))
            return self._pipeline

    def speak_sentence(self, sentence, emotion, persona, continuity, target):
        if target.live is not None:  # the page plays the live stream: voice + motion, queued there
            from avatar.pipeline import Say

            pipeline = self.pipeline(persona)
            yield from pipeline.stream([Say(sentence, emotion)], continuity, target.live)
            return
        with self._lock:
            self._n += 1
            n = self._n
        # in the turn's media folder (the private one the conversation asks for), like the real pipeline
        path = self.out_dir.parent / target.folder / f"{n}-{int(target.stem)}.mp4"
        yield self.say_to_file(sentence, emotion, persona, path)

    def say_to_file(self, text, emotion, persona, out):
        size = 64 if self.image is None else self.image.shape[0]
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_clip(Path(out), COLOURS.get(emotion.label.value, COLOURS["neutral"]), frames=self.frames,
                   size=size, image=self.image)
        return _segment(self.frames, emotion, text, Path(out))


def _segment(frames: int, emotion, text: str, video: Path):
    from avatar.motion.clip import MotionClip, Role
    from avatar.pipeline import Segment

    return Segment(Role.SPEAKING, MotionClip.still(frames, role=Role.SPEAKING), emotion, text=text, video=video)


class ToneTTS:
    """A TTS stand-in: a hummed tone, 0.05 s per character, with alternating phonemes."""

    def synthesize(self, text, voice, emotion):
        from avatar.voice.base import SpeechClip, TimedUnit

        sr, seconds = 16000, max(0.5, 0.05 * len(text))
        t = np.arange(int(sr * seconds)) / sr
        pcm = (0.2 * np.sin(2 * np.pi * 170 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
        phonemes = tuple(TimedUnit("a" if i % 2 else "m", i * 0.12, i * 0.12 + 0.12) for i in range(int(seconds / 0.12)))
        return SpeechClip(pcm, sr, phonemes=phonemes, text=text)


class FakeASR:
    """dialogue.asr stand-in: any audio with sound in it 'says' `text`."""

    def __init__(self, text: str = "hello from the microphone"):
        self.text = text

    def transcribe(self, pcm, sample_rate):
        from dialogue.asr.base import Prosody, Transcript

        return Transcript(text=self.text, words=(), duration=len(pcm) / sample_rate,
                          prosody=Prosody(0.01, np.zeros(1, np.float32), np.zeros(1, np.float32)))


def write_frames(path: Path, frames: list[np.ndarray], pcm: np.ndarray, sample_rate: int, fps: int = 25) -> float:
    """Encode RGB frames (H, W, 3) uint8 and mono float32 audio as H.264/AAC MP4; returns seconds."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = out.add_stream("aac", rate=sample_rate)
        a.layout = "mono"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode())
        aframe = av.AudioFrame.from_ndarray(pcm.astype(np.float32)[None, :], format="fltp", layout="mono")
        aframe.sample_rate, aframe.pts, aframe.time_base = sample_rate, 0, Fraction(1, sample_rate)
        out.mux(a.encode(aframe))
        out.mux(a.encode())
    return len(frames) / fps


class RenderedSpeak:
    """A closer stand-in for the avatar pipeline (app.media, not built yet): the real procedural
    motion teacher and warp renderer animate the portrait; the voice is a hummed tone (no TTS),
    1 s per 12 characters. Used for the docs screenshots."""

    def __init__(self, out_dir: Path, portrait_rgb: np.ndarray, size: int = 256):
        from avatar.face.portrait import load_portrait
        from avatar.render.warp import WarpRenderer
        from emotion.builtin import get_profile

        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.renderer = WarpRenderer(load_portrait(portrait_rgb, size))
        self.profile = get_profile("warm")
        self._n = 0
        self._lock = threading.Lock()

    def _clip(self, role, emotion, duration: float, with_voice: bool, name: str) -> tuple[str, float]:
        from avatar.motion.base import MotionRequest
        from avatar.motion.teacher import teacher_motion
        from avatar.voice.base import SpeechClip, TimedUnit

        sr = 16000
        t = np.arange(int(sr * duration)) / sr
        pcm = (0.2 * np.sin(2 * np.pi * 170 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
        speech = None
        if with_voice:
            phonemes = tuple(TimedUnit("a" if i % 2 else "m", i * 0.12, i * 0.12 + 0.12)
                             for i in range(int(duration / 0.12)))
            speech = SpeechClip(pcm, sr, phonemes=phonemes)
        else:
            pcm = np.zeros_like(pcm)
        clip = teacher_motion(MotionRequest(role=role, emotion=emotion, profile=self.profile, speech=speech,
                                            duration_s=duration, seed=7))
        with self._lock:
            frames = list(self.renderer.stream_frames(clip))
        path = self.out_dir / name
        return str(path), write_frames(path, frames, pcm, sr)

    def media_dir(self, conversation_id, turn_id):
        return f"media/{conversation_id}/{turn_id}"

    def speak_sentence(self, sentence, emotion, persona, continuity, target):
        from avatar.motion.clip import Role

        with self._lock:
            self._n += 1
            n = self._n
        path, seconds = self._clip(Role.SPEAKING, emotion, max(1.0, len(sentence) / 12), True, f"{n}-{int(target.stem)}.mp4")
        yield _segment(int(round(seconds * 25)), emotion, sentence, Path(path))

    def say_to_file(self, text, emotion, persona, out):
        """The persona tab's preview: `text` said with `emotion`, written to `out`."""
        from avatar.motion.clip import Role

        Path(out).parent.mkdir(parents=True, exist_ok=True)
        path, seconds = self._clip(Role.SPEAKING, emotion, max(1.0, len(text) / 12), True, Path(out).name)
        if Path(path) != Path(out):
            Path(path).replace(out)
        return _segment(int(round(seconds * 25)), emotion, text, Path(out))

    def listening_clip(self, persona=None, emotion=None) -> str:
        from avatar.motion.clip import Role
        from emotion import EmotionState

        return self._clip(Role.LISTENING, EmotionState.neutral(), 3.0, False, "listening.mp4")[0]
