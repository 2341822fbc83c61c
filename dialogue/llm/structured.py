"""Structured replies: the streaming assembler (the tag, parsed in dialogue.llm.tags, settled and
repaired; the text cleaned by dialogue.llm.hygiene) for small models.

The format asked of every model (see dialogue.prompts) is a first line `[label intensity]` and then
the reply text, e.g. "[happy 0.6]\\nThat is wonderful news!". It streams well: the tag is settled
after a few tokens and every later sentence can be spoken as soon as it completes. A JSON object
`{"emotion": ..., "intensity": ..., "text": ...}` is accepted too (some servers answer JSON anyway);
it is only spoken once complete.

Whatever comes back is repaired, never trusted:
- the tag: unknown label -> synonym, else the emotion of the text (`emotion_of`), else neutral;
  missing -> the same; intensity missing or odd ("80%", "8/10", 7) -> normalised or 0.5;
- the text: role prefixes, special tokens, markdown, emoji, stage directions, placeholders,
  repeated sentences and hallucinated next turns ("User: ...") are removed; at most
  `max_sentences` sentences and about `max_chars` characters, cut at a sentence boundary;
- nothing usable left -> the persona's fallback line. Each repair logs a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator

from dialogue.llm.base import PersonaBrief, Reply, ReplyChunk
from dialogue.llm.hygiene import (
    _ENDINGS,
    _LEADING_ROLE_TOKEN,
    _NEXT_TURN,
    _SPECIAL_TOKEN,
    _cut_at_word,
    _key,
    _strip_persona_prefix,
    clean_sentence,
    fallback_line,
    is_assistant_speak,
    structure_start,
    DEFAULT_FALLBACK,
)
from dialogue.llm.sentences import SentenceSplitter, split_sentences, stream_sentences
from dialogue.llm.tags import EmotionTag, _is_emotion_tag, _match_tag, _parse_json, parse_tag
from dialogue.prompts import heard_clearly
from dialogue.turns import SentenceEmotion
from emotion import Emotion, EmotionState
from emotion.arc import sentence_emotion
from emotion.response import EMPATHY

__all__ = [
    "DEFAULT_FALLBACK", "EmotionTag", "ReplyAssembler", "clean_sentence", "fallback_line", "parse_reply", "parse_tag",
    "split_sentences", "stream_sentences", "stream_structured",
]

log = logging.getLogger(__name__)

EmotionOf = Callable[[str], EmotionState]

DEFAULT_INTENSITY = 0.5
PERSON_TAG_INTENSITY = 0.6  # the avatar's answer to a person's feeling named without intensity
ECHO_MIN_WORDS = 3  # "Oh no." may well come again; a copied question or greeting may not
DEFAULT_MAX_SENTENCES = 3
DEFAULT_MAX_CHARS = 300
FALLBACK_EMOTION = EmotionState.of(Emotion.NEUTRAL, 0.3)  # the persona's fallback line is said calmly

class ReplyAssembler:
    """Turns a model's raw text, fed piece by piece, into clean sentences and a final Reply.

    feed(text) -> clean sentences completed so far; finish(truncated) -> the remaining sentences
    and the Reply. `done` turns True once no more text is wanted (a hallucinated next turn, a
    special end token, or enough sentences): the caller may stop the model then.
    companion: the reply must sound like a friend talking: sentences an assistant would say
    (hygiene.ASSISTANT_SPEAK: "As an AI", "It's important to", "Here are some") are dropped, and the
    reply ends where a list or a code block begins.
    person_tag: the tag names how the person feels; the reply's emotion is the empathic answer
    to it (emotion.response.EMPATHY), at the tag's intensity or PERSON_TAG_INTENSITY.
    heard: with person_tag, the person's feeling as the app read it (the trained classifier where
    confident, else the lexicon: app.text_emotion); when it is clear
    (dialogue.prompts.heard_clearly) it decides the person's feeling and the model's tag is
    used only otherwise: a clear reading is seldom wrong, and a 1.5B model now and then tags
    grief "disgusted".
    avoid: sentences the reply must not repeat (the few-shot answers, the avatar's earlier turns,
    the person's own message): a sentence of ECHO_MIN_WORDS words or more equal to one of them is
    dropped (small models copy a few-shot line or echo the question).
    """

    _HEADER_WAIT_CHARS = 48  # give up waiting for a tag after this many characters

    def __init__(
        self,
        persona: PersonaBrief | None = None,
        *,
        emotion_of: EmotionOf | None = None,
        max_sentences: int = DEFAULT_MAX_SENTENCES,
        max_chars: int = DEFAULT_MAX_CHARS,
        expect_tag: bool = True,
        companion: bool = False,
        person_tag: bool = False,
        heard: EmotionState | None = None,
        avoid: Iterable[str] = (),
    ) -> None:
        self.persona = persona
        self.person_tag = person_tag
        self.heard = heard if heard is not None and heard_clearly(heard) is not None else None
        self._echoes = {_key(s) for text in avoid for s in split_sentences(text) if len(s.split()) >= ECHO_MIN_WORDS}
        self.emotion_of = emotion_of
        self.expect_tag = expect_tag
        self.companion = companion
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.done = False
        self.raw = ""
        self._mode: str | None = None  # None: deciding; "tag": body follows; "json": buffer all
        self._head = ""
        self._tag: EmotionTag | None = None
        self._splitter = SentenceSplitter()
        self._sentences: list[str] = []
        self._keys: set[str] = set()
        self._chars = 0
        self._settled: tuple[Emotion, float, str] | None = None  # (label, intensity, source)
        self._arc: list[EmotionState] = []  # the emotion of each of self._sentences

    # -- header -------------------------------------------------------------------------------
    def _decide_header(self, final: bool) -> str | None:
        """Return the body text once the header is settled (None: need more text)."""
        head = _LEADING_ROLE_TOKEN.sub("", self._head)
        stripped = _strip_persona_prefix(head.lstrip(), self.persona.name if self.persona else None)
        if not stripped and not final:
            return None
        if stripped.startswith("<") and ">" not in stripped and len(stripped) < 24 and not final:
            return None  # maybe a special token still arriving
        if stripped.startswith(("{", "```")):
            self._mode = "json"
            return None
        if not final and re.fullmatch(r"(?i)(emotion|feeling|mood)\s*", stripped):
            return None  # "Emotion: sad 0.7" may be on its way
        header_line = re.match(r"(?i)(emotion|feeling|mood)\s*[:=]", stripped)
        if stripped[:1] in "[(" or header_line:
            closed = re.search(r"[\])]|\n", stripped) if not header_line else re.search(r"\n", stripped)
            if closed is None and len(stripped) < self._HEADER_WAIT_CHARS and not final:
                return None
            tag, rest = parse_tag(stripped)
            self._tag = tag
            self._mode = "tag"
            return rest
        if not final and len(stripped) < 2:
            return None
        self._mode = "tag"
        return stripped

    # -- body ---------------------------------------------------------------------------------
    def _accept(self, raw_sentence: str) -> list[str]:
        if self.done:
            return []
        name = self.persona.name if self.persona else None
        s = clean_sentence(raw_sentence, name, is_emotion_tag=_is_emotion_tag)
        if not s:
            if raw_sentence.strip():
                log.warning("LLM reply: dropped unusable text %r", raw_sentence[:80])
            return []
        if self.companion and is_assistant_speak(s):
            log.warning("LLM reply: dropped an assistant's sentence %r", s[:80])
            return []
        key = _key(s)
        if key in self._echoes:
            log.warning("LLM reply: dropped a sentence copied from the prompt %r", s[:80])
            return []
        if key in self._keys:
            log.warning("LLM reply: dropped repeated sentence %r", s[:80])
            return []
        if self._sentences and self._chars + 1 + len(s) > self.max_chars:
            self.done = True
            return []
        if len(s) > self.max_chars:
            s = _cut_at_word(s, self.max_chars)
            self.done = True
        self._keys.add(key)
        if not self._sentences:
            self._settle(s)
        self._arc.append(self._sentence_emotion(s))
        self._sentences.append(s)
        self._chars += len(s) + (1 if len(self._sentences) > 1 else 0)
        if len(self._sentences) >= self.max_sentences:
            self.done = True
        return [s]

    def _take_tag_in_body(self, text: str) -> None:
        """A tag the model put in the first sentence's text still tells its emotion (later ones
        come after the emotion is settled: see `emotion`)."""
        if self._tag is not None or self._settled is not None:
            return
        for m in re.finditer(r"\[[^\]\n]{1,30}\]", text):
            tag = _match_tag(m.group(0))[0]
            if tag is not None and tag.emotion is not None:
                self._tag = tag
                return

    def _body(self, text: str) -> list[str]:
        # Search the unfinished sentence too: a marker may be split across pieces.
        combined = self._splitter.pending + text
        special = _SPECIAL_TOKEN.search(combined)
        turn = _NEXT_TURN.search(combined)
        cuts = [m.start() for m in (special, turn) if m is not None]
        structure = structure_start(combined) if self.companion else None
        if structure is not None:
            cuts.append(structure)
        self._take_tag_in_body(combined[: min(cuts)] if cuts else combined)
        if not cuts:
            out: list[str] = []
            for s in self._splitter.feed(text):
                out += self._accept(s)
            return out
        cut = min(cuts)
        if turn is not None and turn.start() == cut:
            log.warning("LLM reply: cut a hallucinated next turn %r", combined[cut:cut + 60].strip())
        elif structure == cut:
            log.warning("LLM reply: cut a list or code block %r", combined[cut:cut + 60].strip())
        self._splitter = SentenceSplitter()
        out = []
        for s in self._splitter.feed(combined[:cut]):
            out += self._accept(s)
        rest = self._splitter.flush()
        if rest:
            out += self._accept(rest)
        self.done = True
        return out

    # -- public -------------------------------------------------------------------------------
    def feed(self, text: str) -> list[str]:
        """Add raw model text; return the clean sentences completed by it."""
        if self.done or not text:
            return []
        self.raw += text
        if self._mode == "json":
            return []
        if self._mode is None:
            self._head += text
            body = self._decide_header(final=False)
            if body is None:
                return []
            return self._body(body)
        return self._body(text)

    def finish(self, truncated: bool = False) -> tuple[list[str], Reply]:
        """End of the model's output: the last clean sentences and the whole Reply.

        truncated: the model stopped at its token limit, so an unfinished last sentence is
        dropped when there is anything else to say.
        """
        out: list[str] = []
        if self._mode is None and not self.done:
            body = self._decide_header(final=True)
            if body is not None:
                out += self._body(body)
        if self._mode == "json":
            parsed = _parse_json(self.raw)
            if parsed is None:
                log.warning("LLM reply: malformed JSON; using it as plain text")
                self._mode = "tag"
                text = re.sub(r'[{}"]|\b(emotion|intensity|text)\b\s*:', " ", self.raw)
                out += self._body(text)
            else:
                self._tag, text = parsed
                self._mode = "tag"
                out += self._body(text)
        if not self.done:
            rest = self._splitter.flush()
            if rest:
                unfinished = rest[-1] not in _ENDINGS
                if truncated and unfinished and self._sentences:
                    log.info("LLM reply: dropped the unfinished last sentence %r", rest[:60])
                else:
                    accepted = self._accept(rest)
                    if accepted and unfinished and truncated:
                        self._sentences[-1] = self._sentences[-1].rstrip(".,;:- ") + "..."
                        accepted = [self._sentences[-1]]
                    out += accepted
        self.done = True
        if not self._sentences:
            line = fallback_line(self.persona)
            log.warning("LLM reply had nothing usable (raw %r); saying the fallback line", self.raw[:120])
            self._sentences.append(line)
            self._arc.append(FALLBACK_EMOTION)
            out.append(line)
            return out, Reply(text=line, emotion=FALLBACK_EMOTION.label, intensity=FALLBACK_EMOTION.intensity,
                              emotion_source="fallback", arc=self._arc_record())
        text = " ".join(self._sentences)
        emotion, intensity, source = self._settled or self._emotion(text)
        return out, Reply(text=text, emotion=emotion, intensity=intensity, emotion_source=source,
                          arc=self._arc_record())

    def _arc_record(self) -> tuple[SentenceEmotion, ...]:
        return tuple(SentenceEmotion(text=s, emotion=e) for s, e in zip(self._sentences, self._arc))

    @property
    def emotion(self) -> tuple[EmotionState, str] | None:
        """The reply's emotion and its source, settled with the first sentence (None before it).

        It does not change afterwards: a tag the model writes after the first sentence is too late
        (the sentence is already being spoken with this emotion) and is ignored.
        """
        if self._settled is None:
            return None
        label, intensity, source = self._settled
        return EmotionState.of(label, intensity), source

    @property
    def arc(self) -> tuple[EmotionState, ...]:
        """The emotion of each clean sentence so far, in order: the settled emotion for the first,
        emotion.arc.sentence_emotion of it and the sentence's own reading for each later one."""
        return tuple(self._arc)

    def _settle(self, first_sentence: str) -> None:
        self._settled = self._emotion(first_sentence)

    def _sentence_emotion(self, sentence: str) -> EmotionState:
        """The emotion a sentence about to be released is said with (once, here)."""
        settled = self.emotion[0]
        if not self._sentences:
            return settled
        return sentence_emotion(settled, sentence, self._emotion_of(sentence))

    def _emotion(self, text: str) -> tuple[Emotion, float, str]:
        """The tag's emotion where usable; else the text's (emotion_of); else neutral; and its source."""
        tag = self._answer_to(self._person_feeling()) if self.person_tag else self._tag
        computed = self._emotion_of(text)
        heard = self.person_tag and self.heard is not None  # the recognizer's clear reading decided
        if tag is not None and tag.emotion is not None and not heard and _contradicts(tag.emotion, computed):
            # Validation: small models copy a few-shot tag ("[sad 0.7] Oh, that's great news!");
            # a tag whose valence opposes what the words clearly say is not believed. A clear
            # reading of the person stands: a terrified person is met with concern on the face
            # even when the words cheer them on ("You should be more confident!").
            log.warning("LLM reply tag [%s] contradicts its text (%s %.2f); using the text's emotion",
                        tag.emotion.value, computed.label.value, computed.intensity)
            return computed.label, computed.intensity, "text"
        if tag is not None and tag.emotion is not None and tag.intensity is not None:
            return tag.emotion, tag.intensity, "model"
        if tag is not None and tag.emotion is not None:  # a label without intensity
            if computed is not None and computed.label is tag.emotion:
                return tag.emotion, computed.intensity, "model"
            return tag.emotion, DEFAULT_INTENSITY, "model"
        # A missing tag is a repair only when one was asked for (the embedded model is not asked).
        report = log.warning if self.expect_tag else log.debug
        if computed is not None:
            report("LLM reply had no usable emotion tag; computed %s from its text", computed.label.value)
            return computed.label, computed.intensity, "text"
        report("LLM reply had no usable emotion tag and no emotion_of is set; using neutral")
        return Emotion.NEUTRAL, DEFAULT_INTENSITY, "fallback"

    def _person_feeling(self) -> EmotionTag | None:
        """The person's feeling: what the recognizer clearly heard, else the model's tag."""
        if self.heard is not None:
            if self._tag is not None and self._tag.emotion not in (None, self.heard.label):
                log.info("LLM tag [%s] for the person; the recognizer heard %s", self._tag.emotion.value,
                         self.heard.label.value)
            same = self._tag is not None and self._tag.emotion is self.heard.label
            return EmotionTag(self.heard.label, self._tag.intensity if same else None)
        return self._tag

    @staticmethod
    def _answer_to(person: EmotionTag | None) -> EmotionTag | None:
        """The avatar's feeling for a person-feeling tag (EMPATHY), at its intensity or the default."""
        if person is None or person.emotion is None:
            return person
        return EmotionTag(EMPATHY[person.emotion],
                          person.intensity if person.intensity is not None else PERSON_TAG_INTENSITY)

    def _emotion_of(self, text: str) -> EmotionState | None:
        if self.emotion_of is None:
            return None
        try:
            return self.emotion_of(text)
        except Exception:  # a broken recognizer must not lose the reply
            log.exception("emotion_of failed on the reply text; using the tag or neutral")
            return None


CONTRADICTION_INTENSITY = 0.35  # the text's emotion must be at least this clear to overrule a tag


def _contradicts(tagged: Emotion, text: EmotionState | None) -> bool:
    """Whether the text's own emotion clearly has the opposite valence of the tag's label
    (happy words under a sad tag, or the reverse)."""
    if text is None or text.intensity < CONTRADICTION_INTENSITY:
        return False
    tag_valence = EmotionState.of(tagged, 1.0).valence
    text_valence = EmotionState.of(text.label, 1.0).valence
    return tag_valence * text_valence < 0 and abs(tag_valence) >= 0.2 and abs(text_valence) >= 0.2


def parse_reply(
    raw: str,
    persona: PersonaBrief | None = None,
    *,
    emotion_of: EmotionOf | None = None,
    max_sentences: int = DEFAULT_MAX_SENTENCES,
    max_chars: int = DEFAULT_MAX_CHARS,
    truncated: bool = False,
) -> Reply:
    """Parse and repair a whole structured reply (tag line + text, or JSON). Never raises."""
    asm = ReplyAssembler(persona, emotion_of=emotion_of, max_sentences=max_sentences, max_chars=max_chars)
    asm.feed(raw)
    return asm.finish(truncated=truncated)[1]


def stream_structured(
    pieces: Iterable[str],
    persona: PersonaBrief | None = None,
    *,
    emotion_of: EmotionOf | None = None,
    max_sentences: int = DEFAULT_MAX_SENTENCES,
    max_chars: int = DEFAULT_MAX_CHARS,
    truncated: Callable[[], bool] = lambda: False,
    expect_tag: bool = True,
    companion: bool = False,
    person_tag: bool = False,
    heard: EmotionState | None = None,
    avoid: Iterable[str] = (),
) -> Iterator[ReplyChunk]:
    """Yield clean sentences as `pieces` (raw model text) arrive, then the final Reply chunk.

    Stops consuming `pieces` as soon as the reply is complete (enough sentences, a hallucinated
    next turn); the caller closes its source then. Waits only as long as `pieces` does.
    truncated: asked after the stream ends, whether the model hit its token limit.
    companion, person_tag, heard, avoid: see ReplyAssembler.
    """
    asm = ReplyAssembler(persona, emotion_of=emotion_of, max_sentences=max_sentences, max_chars=max_chars,
                         expect_tag=expect_tag, companion=companion, person_tag=person_tag, heard=heard,
                         avoid=avoid)
    released = 0
    for piece in pieces:
        for s in asm.feed(piece):
            yield _sentence_chunk(s, asm, released)
            released += 1
        if asm.done:
            break
    sentences, reply = asm.finish(truncated=truncated())
    for s in sentences:
        yield _sentence_chunk(s, asm, released)
        released += 1
    yield ReplyChunk(final=reply)


def _sentence_chunk(sentence: str, asm: ReplyAssembler, index: int) -> ReplyChunk:
    """Sentence `index` of the reply as a chunk carrying its emotion (asm.arc) and the source of the
    reply's settled emotion."""
    settled = asm.emotion
    source = settled[1] if settled is not None else "fallback"  # the fallback line: nothing settled
    return ReplyChunk(sentence=sentence, emotion=asm.arc[index], emotion_source=source)
