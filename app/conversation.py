"""The Conversation orchestrator: one person's conversation with one persona.

A `Conversation` is per-user state (one per browser session or CLI run). It holds the talking
tree and the current node, and drives one turn through the stages:

    user text --emotion--> user Turn (saved) --reverse-level traversal--> EmotionCues
    --llm.stream_reply--> sentences ... final Reply --> avatar Turn (saved)

Media (voice, motion, video) is produced per sentence by the optional avatar components
(`app.media.AvatarComponents`, running `avatar.pipeline`), so the avatar can start speaking
before the reply is complete. The conversation owns its motion continuity and, when a live
stream is attached (`live`), sends the sentences there instead of into clip files.
Long-lived, shared things (store, LLM, TTS, renderer) live in `Services`; nothing per-request is
written onto them. The records a turn takes and yields (`TurnEvent`, `RecordedVoice`, the avatar
seam `SentenceSpeaker`) are in `app.turn_events`.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.access import folder_key
from app.personas import Persona, PersonaError, persona_profile
from app.turn_events import (InputError, RecordedVoice, ReplyMedia, ReplySaved, ReplySentence, SegmentTarget,
                             SentenceSpeaker, TurnEvent, TurnFailed, UserTurnSaved)
from avatar.pipeline import Continuity, SegmentSink
from dialogue.cues import emotion_cues, emotion_cues_if_added
from dialogue.llm.base import LLM, LLMError, PersonaBrief, Reply, ReplyChunk
from dialogue.store import ConversationStore
from dialogue.tree import TalkingTree
from dialogue.turns import (AvatarRole, EmotionCues, SentenceEmotion, Speaker, Turn, TurnMedia,
                            conversation_media_folder, media_folder, new_id)
from emotion import EmotionState
from emotion.builtin import get_profile
from emotion.response import respond_to

log = logging.getLogger(__name__)

RECENT_FEELINGS = 16  # feelings of recent messages remembered (Services.person_feeling)
INTERRUPTED_NOTICE = "you spoke over the reply: it is kept as far as you heard it"
INTERRUPTED_BEFORE_NOTICE = "you went on speaking: the avatar listened instead of answering"


@dataclass
class Services:
    """Process-wide components, built once and shared by all conversations (read-only use)."""

    store: ConversationStore
    llm: LLM
    emotion_of: Callable[[str], EmotionState]
    max_message_chars: int = 2000
    # the person's feeling in their messages (app.text_emotion.FeelingReader); None: emotion_of
    feeling_of: Callable[[str], EmotionState] | None = None
    # Voice + motion + video for each reply sentence (app.media.AvatarComponents); None = text only.
    avatar: SentenceSpeaker | None = None
    profiles_dir: Path | None = None  # the user's emotion profiles (built-ins are always there)
    data_dir: Path | None = None  # where turn media lives (TurnMedia paths are relative to it); None = keep no files

    # the last few feelings read, by (reader, text): see person_feeling
    _feelings: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _feelings_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def person_feeling(self, text: str) -> EmotionState:
        """The feeling of a person's message (`feeling_of`, else `emotion_of`). The last
        `RECENT_FEELINGS` are remembered: a message prefilled while it was typed or spoken is sent
        as it was, and its turn need not read it again (a model: about 0.1 s of CPU)."""
        reader = self.feeling_of or self.emotion_of
        key = (reader, text)
        with self._feelings_lock:
            known = self._feelings.get(key)
            if known is not None:
                self._feelings.move_to_end(key)
                return known
        feeling = reader(text)
        with self._feelings_lock:
            self._feelings[key] = feeling
            while len(self._feelings) > RECENT_FEELINGS:
                self._feelings.popitem(last=False)
        return feeling

    def listen(self, persona: Persona, emotion: EmotionState | None = None) -> str | None:
        """A looping listening clip of the persona's avatar, mirroring `emotion` (None: text only)."""
        return self.avatar.listening_clip(persona, emotion) if self.avatar is not None else None


TITLE_CHARS = 60


def default_title(persona: Persona) -> str:
    """A new conversation's title until its first message names it."""
    return f"Chat with {persona.display_name}"


def title_of(text: str) -> str:
    """A conversation title from its first message: one line, at most TITLE_CHARS characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


class Conversation:
    """One conversation tree and its current position. Not thread-safe: one per user session."""

    def __init__(self, services: Services, persona: Persona, tree: TalkingTree, current: str):
        self.services = services
        self.persona = persona
        self.tree = tree
        self.current = current
        self.continuity = Continuity()  # the avatar's last motion frames in this conversation
        self.live: SegmentSink | None = None  # the session's live stream, when one is attached

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, services: Services, persona: Persona, title: str = "", owner: str | None = None
              ) -> "Conversation":
        """A new conversation whose root is the persona's greeting (saved at once).

        owner: the owner key stored with it (the web app passes its browser's digest, see
        app/access.py; None = the local user's, as in the CLI).
        Raises PersonaError when the persona's emotion profile is missing or malformed.
        """
        persona_profile(persona, services.profiles_dir)
        conv_id = uuid.uuid4().hex[:12]
        tree = TalkingTree(conv_id, title=title or default_title(persona))
        greeting = tree.add(greeting_turn(services, persona))
        services.store.create(conv_id, tree.title, persona.name, owner=owner)
        services.store.save_turn(conv_id, greeting, greeting.id)
        return cls(services, persona, tree, greeting.id)

    @classmethod
    def open(cls, services: Services, conversation_id: str, persona: Persona) -> "Conversation":
        tree = services.store.load(conversation_id)
        return cls(services, persona, tree, tree.current or tree.root.id)

    @property
    def id(self) -> str:
        return self.tree.conversation_id

    def path(self) -> list[Turn]:
        return self.tree.path_to(self.current)

    # --- turns -------------------------------------------------------------------------------

    def send(self, text: str, voice: RecordedVoice | None = None) -> Iterator[TurnEvent]:
        """Add the user's message and stream the avatar's reply (events, in order).

        voice: the recording `text` was transcribed from (a spoken turn): kept as
        `<data>/media/<conversation>/<turn>/voice.wav`, named by the turn's TurnMedia.audio, played
        in export while the avatar listens.

        Raises:
            InputError: empty or over-long text (nothing is saved).
        """
        user = self._user_turn(text, parent=self.current)
        if voice is not None:
            user = user.model_copy(update={"media": self._save_voice(user.id, voice)})
        yield from self._answer(user)

    def edit(self, user_turn_id: str, new_text: str) -> Iterator[TurnEvent]:
        """Edit an earlier user turn: a sibling user turn (a new branch), then a fresh reply."""
        old = self.tree.get(user_turn_id)
        if old.speaker is not Speaker.USER:
            raise InputError("only your own messages can be edited")
        user = self._user_turn(new_text, parent=old.parent)
        yield from self._answer(user)

    def regenerate(self, avatar_turn_id: str | None = None) -> Iterator[TurnEvent]:
        """A new reply to the same user turn, as a sibling of `avatar_turn_id` (default: current).

        When the current turn is the person's (its reply failed), this answers it: the retry.
        """
        target = self.tree.get(avatar_turn_id or self.current)
        if target.speaker is Speaker.USER and avatar_turn_id is None:
            yield from self._reply_to(target)
            return
        if target.speaker is not Speaker.AVATAR or target.parent is None:
            raise InputError("only a reply to one of your messages can be regenerated")
        self.current = target.parent
        yield from self._reply_to(self.tree.get(target.parent))

    def switch(self, node_id: str) -> None:
        """Continue from `node_id`'s branch: the current node becomes its most recent leaf."""
        self.current = self.tree.leaf_of(node_id).id
        self.services.store.set_current(self.id, self.current)

    def prefill(self, text: str) -> dict | None:
        """Have the LLM evaluate now the prompt that sending `text` would give (the person is still
        speaking or typing it), so the reply evaluates only what changed since: see
        `prefill_reply`. Nothing is saved. Blocks for the evaluation."""
        return evaluate_prompt(self.services, self.reply_prompt(text))

    def reply_prompt(self, text: str, feeling: EmotionState | None = None) -> ReplyPrompt | None:
        """The prompt sending `text` would give, read from the tree now (`reply_prompt`; its
        `feeling` read ahead, `draft_feeling`): call it holding the turn lock, then evaluate it
        (`evaluate_prompt`) without."""
        return reply_prompt(self.services, self.persona, self.tree, self.current, text, feeling)

    # --- internals ---------------------------------------------------------------------------

    def _user_turn(self, text: str, parent: str | None) -> Turn:
        return user_turn(self.services, text, parent)

    def _answer(self, user: Turn) -> Iterator[TurnEvent]:
        self.tree.add(user)
        self.services.store.save_turn(self.id, user, user.id)
        self.current = user.id
        self._title_from(user)
        yield UserTurnSaved(user)
        yield from self._reply_to(user)

    def _title_from(self, user: Turn) -> None:
        """A conversation still under its default title is named after its first message (so a
        list of conversations reads "My cat is called Tom…", not "Chat with Ada" each time)."""
        if self.tree.title != default_title(self.persona):
            return
        title = title_of(user.text)
        self.tree.title = title
        self.services.store.rename(self.id, title)

    def _reply_to(self, user: Turn) -> Iterator[TurnEvent]:
        try:  # the profile may have been deleted or broken since the conversation started
            persona_profile(self.persona, self.services.profiles_dir)
        except PersonaError as exc:
            yield TurnFailed(str(exc))
            return
        cues = emotion_cues(self.tree, user.id)
        path = self.tree.path_to(user.id)
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        turn_id = new_id()  # known before the reply ends, so media can be filed under it
        reply: Reply | None = None
        spoken: EmotionState | None = None  # the turn's emotion, settled with its first sentence
        arc: list[SentenceEmotion] = []  # each sentence with the emotion voice and face got
        segments: list[tuple[int, str]] = []  # the reply's video segments (sentence, ref), in playback order
        index = 0
        chunks = self._stream_llm(path, cues)
        interrupted = False
        try:
            for chunk in chunks:
                if chunk.final is not None:
                    reply = chunk.final
                    break
                if self._interrupted():  # the person spoke over it: no more sentences are said
                    interrupted = True
                    break
                timings.setdefault("llm_first_sentence", time.perf_counter() - t0)
                said = self._sentence_emotion(chunk, cues.user_current, spoken)
                if spoken is None:
                    spoken = said
                arc.append(SentenceEmotion(text=chunk.sentence, emotion=said))
                yield ReplySentence(chunk.sentence, index)
                if self.services.avatar is not None:
                    for event in self._speak(chunk.sentence, said, turn_id, index, timings, t0):
                        if event.ref is not None:
                            segments.append((event.index, self._relative(event.ref)))
                        yield event
                index += 1
        except LLMError as exc:
            log.warning("reply failed: %s", exc)
            yield TurnFailed(str(exc))
            return
        finally:
            chunks.close()  # an interrupted reply's stream: the model stops writing it

        if interrupted or self._interrupted():  # the reply is kept as far as the person heard it
            interrupted = True
            arc = self._heard(arc)
            segments = [(k, ref) for k, ref in segments if k < len(arc)]
            reply = Reply(text=" ".join(said.text for said in arc), emotion=spoken.label, intensity=spoken.intensity,
                          emotion_source="model", notice=INTERRUPTED_NOTICE) if arc else None
        if reply is None:
            yield (TurnFailed(INTERRUPTED_BEFORE_NOTICE, interrupted=True) if interrupted
                   else TurnFailed("the language model ended without a reply"))
            return
        media = TurnMedia()
        if self.services.avatar is not None:
            media = TurnMedia(dir=self.services.avatar.media_dir(self.id, turn_id),
                              segments=tuple(ref for _, ref in segments))
        turn = Turn(
            id=turn_id,
            parent=user.id,
            media=media,
            speaker=Speaker.AVATAR,
            avatar_role=AvatarRole.SPEAKING,
            text=reply.text,
            emotion=spoken if spoken is not None else self._avatar_emotion(
                EmotionState.of(reply.emotion, reply.intensity), reply.emotion_source, cues.user_current),
            arc=tuple(arc),  # none streamed: the whole text with the turn's emotion (Turn)
        )
        self.tree.add(turn)
        self.services.store.save_turn(self.id, turn, turn.id)
        self.current = turn.id
        timings["total"] = time.perf_counter() - t0
        yield ReplySaved(turn, timings, reply.notice)

    def _interrupted(self) -> bool:
        """The person talked over the reply: its live stream's turn was cancelled (a barge-in)."""
        return bool(getattr(self.live, "cancelled", False))

    def _heard(self, arc: list[SentenceEmotion]) -> list[SentenceEmotion]:
        """The sentences of an interrupted reply the person heard: its last ones whose segments
        never played (`TurnSink.unheard`: made ahead, flushed at the barge-in) are left out."""
        never_played = getattr(self.live, "unheard", None)
        unheard = [segment.text for segment in never_played()] if never_played is not None else []
        kept = list(arc)
        while kept and kept[-1].text in unheard:
            unheard.remove(kept.pop().text)
        return kept

    def _stream_llm(self, path: list[Turn], cues) -> Iterator:
        """The LLM's reply chunks; a backend that breaks on what its server sent (garbage JSON, a
        missing field) raises LLMError like any other failed reply, so the turn fails with a
        clear line, the person's message is kept and the session goes on."""
        try:
            yield from self.services.llm.stream_reply(self.persona.brief(), path, cues)
        except LLMError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.exception("the language model backend failed")
            raise LLMError(f"The language model sent a reply that cannot be read ({type(exc).__name__}: "
                           f"{str(exc)[:120]})") from exc

    def _sentence_emotion(self, chunk: ReplyChunk, user: EmotionState, settled: EmotionState | None) -> EmotionState:
        """The emotion a sentence chunk is said with, by voice and face, and saved with in the
        turn's arc: the chunk's own (emotion.arc decided it as the sentence was released), through
        the same empathic choice as the reply's when the model did not tag it (`_avatar_emotion`).
        The first sentence's is the turn's emotion (`settled`, None until then). A backend that
        sends no emotion gets the first sentence's text emotion, kept for every sentence."""
        if chunk.emotion is not None:
            return self._avatar_emotion(chunk.emotion, chunk.emotion_source or "model", user)
        if settled is not None:
            return settled
        log.debug("reply chunk without emotion; reading the first sentence's text")
        return self._avatar_emotion(self.services.emotion_of(chunk.sentence), "text", user)

    def _avatar_emotion(self, said: EmotionState, source: str, user: EmotionState) -> EmotionState:
        """The model's own emotion when it gave one; else an empathic choice (emotion.response)."""
        if source == "model":
            return said
        try:
            mirroring = get_profile(self.persona.emotion_profile, self.services.profiles_dir).mirroring
        except ValueError as exc:  # a broken profile file must not lose the reply
            log.warning("profile %r unusable (%s); mirroring 0.5", self.persona.emotion_profile, exc)
            mirroring = 0.5
        return respond_to(user, said, mirroring)

    def _relative(self, path: str) -> str:
        """A media file's reference: relative to the data dir when it lies inside it (POSIX)."""
        p = Path(path)
        root = self.services.data_dir
        if root is not None and p.is_absolute() and p.is_relative_to(root):
            return p.relative_to(root).as_posix()
        return p.as_posix()

    def _save_voice(self, turn_id: str, voice: RecordedVoice) -> TurnMedia:
        """Write the person's voice beside the turn's media; the record naming it (empty without a data dir)."""
        import soundfile as sf

        if self.services.data_dir is None:
            log.warning("no data dir: the spoken turn's audio is not kept")
            return TurnMedia()
        folder = media_folder(self.id, turn_id, folder_key(self.services.data_dir, self.id))
        (self.services.data_dir / folder).mkdir(parents=True, exist_ok=True)
        audio = f"{folder}/voice.wav"
        pcm = np.clip(np.nan_to_num(np.asarray(voice.pcm, np.float32)), -1.0, 1.0)
        sf.write(str(self.services.data_dir / audio), pcm, int(voice.sample_rate), subtype="PCM_16")
        return TurnMedia(dir=folder, audio=audio)

    def _speak(self, sentence: str, emotion: EmotionState, turn_id: str, index: int, timings: dict[str, float],
               t0: float) -> Iterator[ReplyMedia]:
        target = SegmentTarget(self.services.avatar.media_dir(self.id, turn_id), f"{index:03d}", first=index == 0,
                               live=self.live)
        for segment in self.services.avatar.speak_sentence(sentence, emotion, self.persona, self.continuity, target):
            timings.setdefault("first_media", time.perf_counter() - t0)
            yield ReplyMedia(segment, index)


def greeting_turn(services: Services, persona: Persona) -> Turn:
    """The root of a new conversation: the persona's greeting."""
    return Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text=persona.greeting,
                emotion=services.emotion_of(persona.greeting))


def user_turn(services: Services, text: str, parent: str | None, feeling: EmotionState | None = None) -> Turn:
    """The person's message as a turn after `parent` (text stripped, its emotion read, or
    `feeling` when it was read already: `draft_feeling`).

    Raises InputError: empty or over-long text."""
    text = (text or "").strip()
    if not text:
        raise InputError("the message is empty")
    limit = services.max_message_chars
    if len(text) > limit:
        raise InputError(f"the message is {len(text)} characters long; the limit is {limit}")
    return Turn(parent=parent, speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text,
                emotion=feeling if feeling is not None else services.person_feeling(text))


def draft_feeling(services: Services, text: str) -> EmotionState | None:
    """The feeling of a message not sent yet, for `reply_prompt` (read by a model: read it before
    taking the turn lock); None for text that could not be sent (empty, too long)."""
    text = (text or "").strip()
    if not text or len(text) > services.max_message_chars:
        return None
    return services.person_feeling(text)


@dataclass(frozen=True, slots=True)
class ReplyPrompt:
    """What the prompt of a reply not asked for yet is built from (`reply_prompt`): the persona,
    the path it answers (ending with the person's message so far) and its emotion cues."""

    persona: PersonaBrief
    path: tuple[Turn, ...]
    cues: EmotionCues


def reply_prompt(services: Services, persona: Persona, tree: TalkingTree | None, current: str | None,
                 text: str, feeling: EmotionState | None = None) -> ReplyPrompt | None:
    """The prompt of a reply to `text` sent after `current` in `tree` (None: a conversation not
    started yet, whose path is the persona's greeting), built now from the tree: read while no
    turn changes it (the caller holds the conversation's turn lock), then evaluated with
    `evaluate_prompt` without it. feeling: the text's, read ahead (`draft_feeling`; else read
    here). text "": the path up to `current` alone. None when the backend cannot prefill or the
    text could not be sent (too long)."""
    if getattr(services.llm, "prefill", None) is None:
        return None
    if tree is None or current is None:
        tree = TalkingTree("draft")
        current = tree.add(greeting_turn(services, persona)).id
    if not (text or "").strip():
        return ReplyPrompt(persona.brief(), tuple(tree.path_to(current)), emotion_cues(tree, current))
    try:
        user = user_turn(services, text, current, feeling)
    except InputError:
        return None
    return ReplyPrompt(persona.brief(), tuple(tree.path_to(current)) + (user,), emotion_cues_if_added(tree, user))


def evaluate_prompt(services: Services, prompt: ReplyPrompt | None, tag_ahead: bool = True) -> dict | None:
    """Have the LLM evaluate `prompt` now (see `prefill_reply`; tag_ahead: the backend's
    `prefill`); blocks for the evaluation. Returns the backend's timings, or None (no prompt, no
    prefill, or it failed)."""
    prefill = getattr(services.llm, "prefill", None)
    if prompt is None or prefill is None:
        return None
    return prefill(prompt.persona, list(prompt.path), prompt.cues, tag_ahead=tag_ahead)


def prefill_reply(services: Services, persona: Persona, tree: TalkingTree | None, current: str | None,
                  text: str, tag_ahead: bool = True) -> dict | None:
    """Have the LLM evaluate the prompt of a reply to `text` sent after `current` in `tree` (None:
    a conversation not started yet, whose path is the persona's greeting), before it is sent.

    A backend with a prompt cache (the embedded llama.cpp: `prefill`) then has that prompt in its
    KV cache; the message sent in the end usually begins the same way (the transcript so far,
    the typed text so far), and the reply evaluates only the tokens after their common prefix.
    text "": the path up to `current` alone (after a reply: the next turn's prompt repeats the
    reply as the prompt renders it, not as the model wrote it).
    Returns the backend's timings (llama.cpp's `prompt_n`, `cache_n`), or None when the backend
    cannot prefill, the text is too long, or it failed. Reads `tree` (`reply_prompt`) and then
    evaluates (`evaluate_prompt`): call it while no turn changes the tree, or call those two
    apart, holding the turn lock for the first only.
    """
    return evaluate_prompt(services, reply_prompt(services, persona, tree, current, text), tag_ahead)


def delete_conversation(store: ConversationStore, data_dir: Path | None, conversation_id: str) -> None:
    """Delete a conversation: its rows in the store and its files under `data_dir`: the media
    folder (`media/<id>-<key>`, and `media/<id>` of older versions: the avatar's videos, the
    person's recorded voice) and its exports (`exports/<id>-<key>`).

    Raises:
        StoreError: unknown conversation (nothing is deleted).
    """
    from app.access import folder_key

    store.delete(conversation_id)
    if data_dir is None:
        return
    key = folder_key(data_dir, conversation_id)
    for root, name in (("media", conversation_media_folder(conversation_id)),
                       ("media", conversation_media_folder(conversation_id, key)),
                       ("exports", f"exports/{conversation_id}-{key}")):
        folder = (data_dir / name).resolve()
        if folder.parent == (data_dir / root).resolve() and folder.is_dir():  # never elsewhere, whatever the id
            shutil.rmtree(folder)
