"""Export a path of the talking tree: MP4 (avatar speaking and listening in turn, soft subtitles),
SRT, a JSON transcript with emotions, and the motion as ARKit CSV (Live Link Face layout).

Video segments rendered during the chat are reused as they are (stream copy); turns without
media are rendered now. The audio track is rebuilt sample-exactly from each segment's PCM
(padded/trimmed to its frame count), so audio and video cannot drift apart however long.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.media import AvatarPipeline, load_segment
from app.personas import Persona, get_persona
from app.settings import Settings
from avatar.motion.clip import MotionClip
from dialogue.store import ConversationStore
from dialogue.turns import Speaker, Turn
from emotion import EmotionState

log = logging.getLogger(__name__)

EXPORT_SR = 22050
Progress = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class ExportResult:
    mp4: Path | None
    srt: Path
    json: Path
    csv: Path
    duration_s: float


@dataclass(frozen=True, slots=True)
class _Piece:
    """One segment of the exported timeline."""

    turn: Turn
    video: Path | None
    motion: MotionClip
    pcm: np.ndarray  # at EXPORT_SR, exactly motion.duration long
    text: str


def listening_seconds(text: str) -> float:
    """How long the avatar listens to a typed message: about reading-aloud speed, 1.5..8 s."""
    return float(min(max(0.6 + 0.06 * len(text), 1.5), 8.0))


def export_path(settings: Settings, conversation_id: str, out_dir: Path, node_id: str | None = None,
                video: bool = True, progress: Progress | None = None,
                pipeline: AvatarPipeline | None = None) -> ExportResult:
    """Export the path from the root to `node_id` (default: the conversation's current node).

    Raises:
        KeyError / TreeError: unknown conversation or node.
    """
    report = progress or (lambda f, m: None)
    store = ConversationStore(settings.db_path)
    try:
        tree = store.load(conversation_id)
        current = tree.current or tree.root.id
        persona_name = store.info(conversation_id).persona or settings.persona
    finally:
        store.close()
    persona = get_persona(persona_name, settings.personas_dir)
    path = tree.path_to(node_id or current)
    out_dir.mkdir(parents=True, exist_ok=True)
    pipeline = pipeline or AvatarPipeline(settings)

    with tempfile.TemporaryDirectory(prefix="warmchat-export-") as tmp:
        pieces: list[_Piece] = []
        for i, turn in enumerate(path):
            report(0.8 * i / len(path), f"turn {i + 1} of {len(path)}")
            pieces.extend(_pieces_for(turn, persona, pipeline, settings, Path(tmp), video, conversation_id))
        report(0.85, "writing subtitles, transcript and motion")
        stem = out_dir / f"conversation-{conversation_id}"
        srt = stem.with_suffix(".srt")
        srt.write_text(to_srt(pieces, persona), encoding="utf-8")
        js = stem.with_suffix(".json")
        js.write_text(json.dumps(to_transcript(pieces, persona, conversation_id), indent=2), encoding="utf-8")
        csv = stem.with_suffix(".csv")
        _write_csv(csv, pieces)
        mp4 = None
        if video:
            report(0.9, "muxing video")
            mp4 = stem.with_suffix(".mp4")
            _mux(pieces, srt, mp4, Path(tmp))
    duration = sum(p.motion.duration for p in pieces)
    report(1.0, "done")
    return ExportResult(mp4, srt, js, csv, duration)


def export_cli(settings: Settings, conversation_id: str, out_dir: Path, node: str | None = None,
               video: bool = True) -> int:
    def show(fraction: float, message: str) -> None:
        print(f"\r[{'#' * int(fraction * 30):30s}] {message:40s}", end="", flush=True)

    result = export_path(settings, conversation_id, out_dir, node_id=node, video=video, progress=show)
    print()
    for f in (result.mp4, result.srt, result.json, result.csv):
        if f is not None:
            print(f"wrote {f}")
    print(f"{result.duration_s:.1f} s of conversation")
    return 0


# --- timeline ------------------------------------------------------------------------------


def _pieces_for(turn: Turn, persona: Persona, pipeline: AvatarPipeline, settings: Settings, tmp: Path,
                video: bool, conv_id: str) -> list[_Piece]:
    stored = sorted((settings.data_dir / turn.media["dir"]).glob("*.npz")) if turn.media.get("dir") else []
    if stored:
        pieces = []
        for npz in stored:
            motion, pcm, sr = load_segment(npz)
            mp4 = npz.with_suffix(".mp4")
            pieces.append(_Piece(turn, mp4 if mp4.is_file() else None, motion,
                                 _fit_audio(pcm, sr, motion.duration), _segment_text(npz, turn)))
        return pieces
    out = tmp / f"{turn.id}.mp4"
    if turn.speaker is Speaker.AVATAR:
        seg = pipeline.speak(turn.text, turn.emotion, persona, out, continuity_key=conv_id) if video else None
        if seg is None:
            return [_Piece(turn, None, MotionClip.still(0), np.zeros(0, np.float32), turn.text)]
        return [_Piece(turn, seg.video, seg.motion, _fit_audio(seg.speech.pcm, seg.speech.sample_rate,
                                                               seg.motion.duration), turn.text)]
    seconds = listening_seconds(turn.text)
    if not video:
        still = MotionClip.still(int(round(seconds * 25)))
        return [_Piece(turn, None, still, np.zeros(int(seconds * EXPORT_SR), np.float32), turn.text)]
    seg = pipeline.listen(persona, seconds, turn.emotion, out, continuity_key=conv_id)
    return [_Piece(turn, seg.video, seg.motion, np.zeros(int(round(seg.motion.duration * EXPORT_SR)), np.float32),
                   turn.text)]


def _segment_text(npz: Path, turn: Turn) -> str:
    with np.load(npz) as z:
        return str(z["text"]) if "text" in z else turn.text


def _fit_audio(pcm: np.ndarray | None, sr: int, duration_s: float) -> np.ndarray:
    """Resample to EXPORT_SR and pad/trim to exactly `duration_s` (one segment = its frames)."""
    n = int(round(duration_s * EXPORT_SR))
    out = np.zeros(n, np.float32)
    if pcm is None or len(pcm) == 0:
        return out
    if sr != EXPORT_SR:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sr, EXPORT_SR)
        pcm = resample_poly(pcm, EXPORT_SR // g, sr // g).astype(np.float32)
    out[: min(n, len(pcm))] = pcm[:n]
    return out


# --- text outputs --------------------------------------------------------------------------


def _speaker_name(turn: Turn, persona: Persona) -> str:
    return persona.display_name if turn.speaker is Speaker.AVATAR else "You"


def _timestamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def to_srt(pieces: list[_Piece], persona: Persona) -> str:
    """One cue per piece (a sentence of the avatar, or a whole user message), speaker-prefixed."""
    cues, t = [], 0.0
    for piece in pieces:
        end = t + piece.motion.duration
        if piece.text.strip() and end > t:
            cues.append(f"{len(cues) + 1}\n{_timestamp(t)} --> {_timestamp(end)}\n"
                        f"{_speaker_name(piece.turn, persona)}: {piece.text.strip()}\n")
        t = end
    return "\n".join(cues)


def to_transcript(pieces: list[_Piece], persona: Persona, conversation_id: str) -> dict:
    turns: list[dict] = []
    t = 0.0
    for piece in pieces:
        if not turns or turns[-1]["id"] != piece.turn.id:
            e: EmotionState = piece.turn.emotion
            turns.append({"id": piece.turn.id, "parent": piece.turn.parent, "speaker": piece.turn.speaker.value,
                          "name": _speaker_name(piece.turn, persona), "text": piece.turn.text,
                          "emotion": {"label": e.label.value, "valence": e.valence, "arousal": e.arousal,
                                      "intensity": e.intensity},
                          "start_s": round(t, 3), "end_s": round(t, 3)})
        t += piece.motion.duration
        turns[-1]["end_s"] = round(t, 3)
    return {"format": "warmchat.transcript", "version": 1, "conversation": conversation_id,
            "persona": persona.name, "duration_s": round(t, 3), "turns": turns}


def _write_csv(path: Path, pieces: list[_Piece]) -> None:
    from avatar.motion.io import concat, to_csv

    clips = [p.motion for p in pieces if p.motion.num_frames]
    motion = concat(clips) if clips else MotionClip.still(0)
    path.write_text(to_csv(motion), encoding="utf-8")


# --- muxing --------------------------------------------------------------------------------


def _mux(pieces: list[_Piece], srt: Path, mp4: Path, tmp: Path) -> None:
    """Concatenate the segments' video (stream copy), the exact audio track and soft subtitles."""
    import imageio_ffmpeg
    import soundfile as sf

    videos = [p for p in pieces if p.motion.num_frames]
    missing = [p for p in videos if p.video is None]
    if missing:
        raise RuntimeError(f"{len(missing)} segment(s) have no video")
    listing = tmp / "segments.txt"
    listing.write_text("".join(f"file '{p.video.resolve()}'\n" for p in videos), encoding="utf-8")
    audio = tmp / "audio.wav"
    sf.write(audio, np.concatenate([p.pcm for p in videos]) if videos else np.zeros(1, np.float32), EXPORT_SR)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
           "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio), "-i", str(srt),
           "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k",
           "-c:s", "mov_text", "-metadata:s:s:0", "language=eng", "-movflags", "+faststart", str(mp4)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"ffmpeg failed to mux the export: {run.stderr.strip()[-500:]}")

