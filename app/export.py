"""Export a path of the talking tree: MP4 (avatar speaking and listening in turn, soft subtitles),
SRT, a JSON transcript with emotions, and the motion as ARKit CSV (Live Link Face layout).
A spoken turn plays the person's recorded voice while the avatar listens, its listening motion
made from that audio (nods at the person's pauses).

Video segments rendered during the chat are reused as they are (video packets copied); segments
kept without video (the live stream renders its own frames) and turns without media are rendered
now, through the persona's `avatar.pipeline.AvatarPipeline`. `avatar.video.mux.concat_mp4`
rebuilds the audio track sample-exactly (each segment's audio fitted to its frame count), so audio and video cannot drift
apart however long the conversation.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from app.media import AvatarComponents
from app.personas import Persona, get_persona
from app.settings import Settings
from avatar.motion.clip import FPS, MotionClip, Role
from avatar.pipeline import Continuity, Listen, Mp4Folder, Say, Segment, load_segment
from avatar.video.mux import concat_mp4, to_srt
from avatar.voice.base import SpeechClip
from dialogue.store import ConversationStore
from dialogue.turns import Speaker, Turn
from emotion import EmotionState

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
VOICE_TAIL_S = 0.6  # the avatar keeps listening this long after the person's recorded voice ends


@dataclass(frozen=True, slots=True)
class ExportResult:
    mp4: Path | None
    srt: Path
    json: Path
    csv: Path
    duration_s: float


@dataclass(frozen=True, slots=True)
class _Piece:
    """One segment of the exported timeline (a sentence of the avatar, or a user turn) and the
    turn it belongs to."""

    turn: Turn
    segment: Segment

    @property
    def motion(self) -> MotionClip:
        return self.segment.motion

    @property
    def text(self) -> str:
        return self.segment.text


def listening_seconds(text: str) -> float:
    """How long the avatar listens to a typed message: about reading-aloud speed, 1.5..8 s."""
    return float(min(max(0.6 + 0.06 * len(text), 1.5), 8.0))


def export_path(settings: Settings, conversation_id: str, out_dir: Path, node_id: str | None = None,
                video: bool = True, progress: Progress | None = None,
                pipeline: AvatarComponents | None = None) -> ExportResult:
    """Export the path from the root to `node_id` (default: the conversation's current node).

    Raises:
        StoreError / TreeError: unknown conversation or node.
    """
    report = progress or (lambda f, m: None)
    store = ConversationStore(settings.db_path)
    try:
        tree = store.load(conversation_id)
        persona_name = store.info(conversation_id).persona or settings.persona
    finally:
        store.close()
    persona = get_persona(persona_name, settings.personas_dir)
    path = tree.path_to(node_id or tree.current or tree.root.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    components = pipeline or AvatarComponents(settings)
    continuity = Continuity()  # the exported timeline's own: segments rendered now join the previous ones

    with tempfile.TemporaryDirectory(prefix="warmchat-export-") as tmp:
        pieces: list[_Piece] = []
        for i, turn in enumerate(path):
            report(0.8 * i / len(path), f"turn {i + 1} of {len(path)}")
            pieces.extend(_pieces_for(turn, persona, components, settings, Path(tmp), video, continuity))
        report(0.85, "writing subtitles, transcript and motion")
        cues = subtitle_cues(pieces, persona)
        stem = out_dir / f"conversation-{conversation_id}"
        srt = stem.with_suffix(".srt")
        srt.write_text(to_srt(cues), encoding="utf-8")
        js = stem.with_suffix(".json")
        js.write_text(json.dumps(to_transcript(pieces, persona, conversation_id), indent=2), encoding="utf-8")
        csv = stem.with_suffix(".csv")
        _write_csv(csv, pieces)
        mp4 = None
        if video:
            report(0.9, "joining the video")
            mp4 = concat_mp4([p.segment.video for p in pieces if p.segment.video is not None],
                             stem.with_suffix(".mp4"), subtitles=cues)
    report(1.0, "done")
    return ExportResult(mp4, srt, js, csv, sum(p.motion.duration for p in pieces))


# --- timeline ------------------------------------------------------------------------------


def _pieces_for(turn: Turn, persona: Persona, components: AvatarComponents, settings: Settings, tmp: Path,
                video: bool, continuity: Continuity) -> list[_Piece]:
    """The turn's stored segments (made during the chat; those without video rendered now), else
    segments made now: the avatar listening to the person's recorded voice (a spoken turn) or to
    their typed text, or saying its reply sentence by sentence, each with its emotion on the
    turn's arc (Turn.arc)."""
    stored = _stored_segments(turn, settings)
    if stored:
        segments = [load_segment(npz) for npz in stored]
        if video and any(s.video is None for s in segments):
            pipeline = components.pipeline(persona)
            sink = Mp4Folder(pipeline, tmp / turn.id, "seg", encode=True)
            segments = [s if s.video is not None else sink.put(s) for s in segments]
        continuity.remember(segments[-1].motion)
        return [_Piece(turn, s) for s in segments]
    voice = person_voice(turn, settings) if turn.speaker is Speaker.USER else None
    seconds = voice.duration + VOICE_TAIL_S if voice is not None else listening_seconds(turn.text)
    if not video:
        role = Role.LISTENING if turn.speaker is Speaker.USER else Role.SPEAKING
        still = MotionClip.still(int(round(seconds * FPS)), role=role)
        return [_Piece(turn, Segment(role, still, turn.emotion, voice, text=turn.text))]
    if turn.speaker is Speaker.USER:
        requests = [Listen(seconds, turn.emotion, partner_speech=voice, text=turn.text)]
    else:
        requests = [Say(s.text, s.emotion) for s in turn.arc if s.text.strip()]
    pipeline = components.pipeline(persona)
    sink = Mp4Folder(pipeline, tmp / turn.id, "seg", encode=True)
    return [_Piece(turn, s) for s in pipeline.stream(requests, continuity, sink)]


def _stored_segments(turn: Turn, settings: Settings) -> list[Path]:
    """The .npz beside each of the turn's video segments, in playback order (TurnMedia.segments);
    for rows from before TurnMedia, every .npz in the turn's folder, by name."""
    if turn.media.segments:
        found = [(settings.data_dir / s).with_suffix(".npz") for s in turn.media.segments]
        return [p for p in found if p.is_file()]
    return sorted((settings.data_dir / turn.media.dir).glob("*.npz")) if turn.media.dir else []


def person_voice(turn: Turn, settings: Settings) -> SpeechClip | None:
    """The person's recorded voice of a spoken turn (TurnMedia.audio) as mono speech, or None when
    the turn was typed or the file is gone (logged)."""
    if not turn.media.audio:
        return None
    path = settings.data_dir / turn.media.audio
    try:
        pcm, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        log.warning("turn %s: its voice %s cannot be read (%s); the avatar listens to silence", turn.id, path, exc)
        return None
    return SpeechClip(pcm.mean(axis=1).astype(np.float32), int(sr), text=turn.text) if len(pcm) else None


# --- text outputs --------------------------------------------------------------------------


def _speaker_name(turn: Turn, persona: Persona) -> str:
    return persona.display_name if turn.speaker is Speaker.AVATAR else "You"


def subtitle_cues(pieces: list[_Piece], persona: Persona) -> list[tuple[float, float, str]]:
    """(start_s, end_s, "Speaker: text") per sentence of the avatar or user message.

    A sentence encoded in several parts (the reply's first sentence is cut after its first
    second so playback starts sooner) carries its text on the first part only: the parts that
    follow it in the same turn, without text, extend its cue, which so spans the whole sentence.
    """
    cues: list[list] = []
    t = 0.0
    previous: _Piece | None = None
    for piece in pieces:
        end = t + piece.motion.duration
        text = piece.text.strip()
        if text and end > t:
            cues.append([t, end, f"{_speaker_name(piece.turn, persona)}: {text}"])
        elif not text and cues and previous is not None and previous.turn.id == piece.turn.id and cues[-1][1] == t:
            cues[-1][1] = end  # a continuation part of the sentence just shown
        t = end
        previous = piece
    return [(start, stop, line) for start, stop, line in cues]


def to_transcript(pieces: list[_Piece], persona: Persona, conversation_id: str) -> dict:
    turns: list[dict] = []
    t = 0.0
    for piece in pieces:
        if not turns or turns[-1]["id"] != piece.turn.id:
            e: EmotionState = piece.turn.emotion
            turns.append({"id": piece.turn.id, "parent": piece.turn.parent, "speaker": piece.turn.speaker.value,
                          "name": _speaker_name(piece.turn, persona), "text": piece.turn.text,
                          "emotion": _emotion_json(e),
                          "arc": [{"text": s.text, "emotion": _emotion_json(s.emotion)} for s in piece.turn.arc],
                          "start_s": round(t, 3), "end_s": round(t, 3)})
        t += piece.motion.duration
        turns[-1]["end_s"] = round(t, 3)
    return {"format": "warmchat.transcript", "version": 1, "conversation": conversation_id,
            "persona": persona.name, "duration_s": round(t, 3), "turns": turns}


def _emotion_json(e: EmotionState) -> dict:
    return {"label": e.label.value, "valence": e.valence, "arousal": e.arousal, "intensity": e.intensity}


def _write_csv(path: Path, pieces: list[_Piece]) -> None:
    from avatar.motion.io import concat, to_csv

    clips = [p.motion for p in pieces if p.motion.num_frames]
    motion = concat(clips) if clips else MotionClip.still(0)
    path.write_text(to_csv(motion), encoding="utf-8")
