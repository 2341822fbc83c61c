"""The avatar's components for every persona, loaded once per process, and what the app asks of them.

`AvatarComponents` builds the heavy parts lazily and shares them (TTS engines by name, the motion
generator, one renderer per avatar) and assembles an `avatar.pipeline.AvatarPipeline` for a
persona. It is the conversation's `SentenceSpeaker`: a reply sentence goes through the pipeline's
loop into MP4 files in the turn's media folder, or (live stream attached) into the stream, with
the .npz of each segment kept for export either way. It keeps no per-conversation state:
continuity travels with the caller (`avatar.pipeline.Continuity`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.turn_events import SegmentTarget
from app.access import avatar_source
from app.personas import Persona
from app.settings import Settings
from avatar.pipeline import AvatarPipeline, Continuity, Listen, Mp4File, Mp4Folder, Say, Segment
from dialogue.turns import media_folder
from emotion import Emotion, EmotionState
from emotion.builtin import get_profile
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)

FIRST_PART_S = 1.0  # a reply's first sentence is encoded as its first second and the rest


class AvatarComponents:
    """Voice, motion and rendering components for every persona; one instance per process.

    portraits_anywhere: accept a portrait path outside the data dir (the CLI's `render --avatar
    PATH`: the local user's own file). Otherwise, as in the web app and `chat`, a persona's avatar
    is a built-in name or a portrait in the data dir's avatars folder (app.access.avatar_source).
    """

    def __init__(self, settings: Settings, *, portraits_anywhere: bool = False):
        self.settings = settings
        self.portraits_anywhere = portraits_anywhere
        self._lock = threading.Lock()
        self._tts: dict[str, object] = {}
        self._motion = None
        self._renderers: dict[tuple[str, int], object] = {}

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

    def renderer(self, avatar: str, size: int | None = None):
        """The avatar's renderer at `size` px (default: render.size)."""
        from avatar.render import make_renderer

        size = size or self.settings.render.size
        with self._lock:
            if (avatar, size) not in self._renderers:
                source = avatar if self.portraits_anywhere else avatar_source(avatar, self.settings.avatars_dir)
                render = self.settings.render.model_copy(update={"size": size})
                self._renderers[avatar, size] = make_renderer(source, render,
                                                              cache_dir=self.settings.data_dir / "cache" / "portraits")
            return self._renderers[avatar, size]

    def profile(self, persona: Persona) -> EmotionProfile:
        return get_profile(persona.emotion_profile, self.settings.profiles_dir)

    def pipeline(self, persona: Persona, size: int | None = None) -> AvatarPipeline:
        """The persona's avatar pipeline, frames of `size` px (default render.size; the live
        stream uses render.live_size). Components are shared; cheap to call per request."""
        return AvatarPipeline(
            tts=self.tts(persona.voice.backend or self.settings.tts.default_backend), motion=self.motion(),
            renderer=self.renderer(persona.avatar, size), voice=persona.voice, profile=self.profile(persona),
            style=persona.motion_style or None)

    # --- what the app asks -------------------------------------------------------------------

    def media_dir(self, conversation_id: str, turn_id: str) -> str:
        """Folder of a turn's media, relative to the data dir: `media/<id>-<key>/<turn>` (the key,
        app.access.folder_key, makes it impossible to derive from the conversation id)."""
        from app.access import folder_key

        return media_folder(conversation_id, turn_id, folder_key(self.settings.data_dir, conversation_id))

    def warm_up(self, persona: Persona, moods: bool = False) -> None:
        """Load the persona's voice, the motion model and its avatar, and render its listening
        clip (for every emotion when `moods`), so the first reply does not pay for loading."""
        t0 = time.perf_counter()
        tts = self.tts(persona.voice.backend or self.settings.tts.default_backend)
        start = getattr(tts, "start", None)  # engines in a worker process (piper) start it now
        if start is not None:
            start()
        self.pipeline(persona)
        self.renderer(persona.avatar, self.settings.render.live_size)  # the live stream's frames
        for label in Emotion if moods else (Emotion.NEUTRAL,):
            self.listening_clip(persona, EmotionState.of(label, 0.7))
        log.info("avatar pipeline ready for %s in %.1f s", persona.name, time.perf_counter() - t0)

    def speak_sentence(self, sentence: str, emotion: EmotionState, persona: Persona, continuity: Continuity,
                       target: SegmentTarget) -> Iterator[Segment]:
        """One reply sentence through the persona's pipeline: its segments, kept in the turn's
        media folder (`<stem>-<n>.npz`) and either encoded there (`.mp4`) or put on the live
        stream `target.live`. `emotion` is used as given. Yields each playable segment."""
        pipeline = self.pipeline(persona)
        live = target.live is not None
        sink = Mp4Folder(pipeline, self.settings.data_dir / target.folder, target.stem, encode=not live,
                         forward=target.live)
        first = FIRST_PART_S if target.first and not live else None
        yield from pipeline.stream([Say(sentence, emotion, first_part_s=first)], continuity, sink)

    def say_to_file(self, text: str, emotion: EmotionState, persona: Persona, out: Path,
                    continuity: Continuity | None = None) -> Segment:
        """`text` said with `emotion`, rendered and encoded to `out` (`warmchat render`, preview)."""
        pipeline = self.pipeline(persona)
        return next(pipeline.stream([Say(text, emotion)], continuity or Continuity(), Mp4File(pipeline, out)))

    def listening_clip(self, persona: Persona, emotion: EmotionState | None = None, seconds: float = 6.0) -> str:
        """A looping clip of the persona's avatar listening to a person who feels `emotion`, for
        the clip player (no live stream). Rendered once per emotion label, then reused from disk."""
        label = emotion.label if emotion is not None else Emotion.NEUTRAL
        # the name carries the face shown, so a clip made with other listener faces is not reused
        face = json.dumps(self.profile(persona).expression(EmotionState.of(label, 0.7), listening=True), sort_keys=True)
        digest = hashlib.sha1(face.encode()).hexdigest()[:8]
        name = f"{persona.emotion_profile}-{Path(persona.avatar).stem}-{label.value}-{digest}.mp4"
        out = self.settings.data_dir / "media" / "listen" / name
        if not out.is_file():
            pipeline = self.pipeline(persona)
            next(pipeline.stream([Listen(seconds, EmotionState.of(label, 0.7))], Continuity(), Mp4File(pipeline, out)))
        return str(out)


