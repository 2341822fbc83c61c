"""Reply hygiene: what a small model's raw text needs before anyone hears or reads it.

Pure functions over strings: markup, special tokens, role prefixes, stage directions, emoji and
repetition are removed; a sentence that cannot be said cleanly becomes empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dialogue.llm.base import PersonaBrief

DEFAULT_FALLBACK = "Sorry, I lost my train of thought. Could you say that again?"

_LEADING_ROLE_TOKEN = re.compile(r"^\s*(?:<s>|<\|im_start\|>\s*assistant\b\s*|<\|assistant\|>\s*)+")
_SPECIAL_TOKEN = re.compile(r"<\|[^|>]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|<end_of_turn>|<start_of_turn>")
# A next turn the model invents: stop there.
_NEXT_TURN = re.compile(
    r"(?:^|\n|(?<=[.!?…\"”)]\s))\s*(?:User|Human|Person|You|Me|Q|Question|Customer|Client|Student)\s*:",
    re.IGNORECASE,
)
_ROLE_PREFIX = re.compile(r"^\s*(?:assistant|ai|bot|a|answer|reply|response|text)\s*:\s*", re.IGNORECASE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*\*|__|\*|_|~~|`)(?=\S)(.+?)(?<=\S)\1")
# "*smiles warmly*", "*hugs you*", "(laughs)"; "*really*" stays (emphasis: its markers go below)
_STAGE_DIRECTION = re.compile(r"\*[a-z]+s\b[^*]{0,50}\*|\((?:[a-z]+ ?){1,3}\)")
_BRACKETED = re.compile(r"\[[^\]]{0,60}\]|\{[^}]{0,60}\}")  # placeholders "[Your name]", stray tags
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•>]+|\d{1,2}[.)]|#{1,6})\s+")
_URL = re.compile(r"https?://\S+")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2300-\u23ff\u2b00-\u2bff"
    "\ufe0f\u200d\u20e3]+"
)
_EMOTICON = re.compile(r"(?<!\w)(?:[:;=]-?[)(DPp]|<3|xD|XD)(?!\w)")
_REPEATED_PUNCT = re.compile(r"([!?])[!?]+|\.{4,}")
_REPEATED_WORD = re.compile(r"\b(\w+)(?:[\s,]+\1\b){3,}", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_UNSPEAKABLE = re.compile(r"[{}<>|\\^~_*#`\[\]]")  # markup leftovers: never said, never shown
_ENDINGS = ".!?…\"'”’)"


# What an assistant (not a companion) says, sentence by sentence: self-description, offers of help,
# advice-column phrases. Companion replies drop such sentences (dialogue.llm.structured).
ASSISTANT_SPEAK = re.compile(
    r"\bas an ai\b|\blanguage model\b|\bi(?:'m| am) (?:just )?an? (?:ai|assistant|virtual|digital|chatbot|bot|"
    r"computer program|program)\b|\bi (?:don't|do not) have (?:personal |real )?(?:feelings|emotions|experiences)\b|"
    r"\b(?:assist|help) you with\b|\bhow (?:can|may) i (?:help|assist)\b|\bhere (?:are|is) (?:some|a few|how|an?)\b|"
    r"\bhere's (?:how|an?|some)\b|\b\w+\(\)|\bthe \w+ (?:method|function)\b|"
    r"\bstep (?:\d|one)\b|\bi (?:would )?(?:recommend|suggest)\b|"
    r"\bconsider (?:reaching|talking|seeking|speaking|using|trying|contacting)\b|\bit(?:'s| is) (?:important|essential|crucial) to\b|"
    r"\bmake sure (?:to|you)\b|\bfeel free to\b|\bseek (?:professional|medical)\b|\b(?:happy|glad|here) to help\b|"
    r"\bdon't hesitate to\b|\bin conclusion\b|\bin summary\b|\blet me know if (?:there's|there is|you)\b|"
    r"\banything else (?:i can|you need|you'd like)\b",
    re.IGNORECASE,
)
# Where a reply turns into a list, a code block or markup: a companion reply stops there.
_STRUCTURE_START = re.compile(r"```|\n\s*(?:[-*•]|\d{1,2}[.)])\s+\S|\n\s*#{1,6}\s|\b(?:function|def|const|var|let)\s+\w+\s*[(=]")


def is_assistant_speak(sentence: str) -> bool:
    """Whether a sentence is an assistant's, not a companion's ("As an AI...", "It's important to...")."""
    return bool(ASSISTANT_SPEAK.search(sentence))


def structure_start(text: str) -> int | None:
    """Where `text` turns into a list, code or headings (an index), or None."""
    m = _STRUCTURE_START.search(text)
    return m.start() if m else None


def fallback_line(persona: PersonaBrief | None) -> str:
    """The line said when a model's reply has nothing usable in it."""
    line = getattr(persona, "fallback", "") if persona is not None else ""
    return line or DEFAULT_FALLBACK


def _strip_persona_prefix(text: str, persona_name: str | None) -> str:
    text = _ROLE_PREFIX.sub("", text, count=1)
    if persona_name:
        text = re.sub(rf"^\s*{re.escape(persona_name)}\s*:\s*", "", text, count=1, flags=re.IGNORECASE)
    return text


def clean_sentence(sentence: str, persona_name: str | None = None,
                   is_emotion_tag: Callable[[str], bool] = lambda text: False) -> str:
    """One sentence made fit to be shown and spoken; "" when nothing sayable is left.

    A bracketed part is a placeholder ("[Your name]": the whole sentence is junk) unless
    `is_emotion_tag` says it is an emotion tag, which is simply removed.
    """
    s = _SPECIAL_TOKEN.sub(" ", sentence)
    s = _strip_persona_prefix(s, persona_name)
    s = _LIST_MARKER.sub("", s)
    s = _strip_persona_prefix(s, persona_name)
    s = _MD_LINK.sub(r"\1", s)
    s = _STAGE_DIRECTION.sub(" ", s)
    s = _MD_EMPH.sub(r"\2", s)
    s = s.replace("**", "").replace("__", "").replace("`", "").replace("#", "")
    for m in _BRACKETED.finditer(s):
        if m.group(0).startswith("{") or not is_emotion_tag(m.group(0)):
            return ""  # a placeholder ("[Your name]"): the sentence around it is junk
    s = _BRACKETED.sub(" ", s)
    s = _URL.sub(" ", s)
    s = _EMOJI.sub(" ", s)
    s = _EMOTICON.sub(" ", s)
    s = _UNSPEAKABLE.sub(" ", s)
    s = _REPEATED_PUNCT.sub(lambda m: m.group(1) or "...", s)
    s = _REPEATED_WORD.sub(r"\1", s)
    s = _SPACES.sub(" ", s).strip()
    s = re.sub(r"\s+([,.!?;:])", r"\1", s)
    s = s.lstrip(",;:-–— ")
    if not any(c.isalpha() for c in s):
        return ""
    if s[-1] not in _ENDINGS:
        s += "."  # a list item or a line without an ending: make it a sentence for the voice
    return s


def _key(sentence: str) -> str:
    return "".join(c for c in sentence.lower() if c.isalnum())


def _cut_at_word(sentence: str, max_chars: int) -> str:
    cut = sentence[:max_chars]
    for sep in (", ", "; ", " "):
        i = cut.rfind(sep)
        if i > max_chars // 2:
            cut = cut[:i]
            break
    return cut.rstrip(",;:- ") + "..."
