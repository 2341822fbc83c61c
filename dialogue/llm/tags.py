"""The emotion tag of a structured reply: `[label intensity]` (or a JSON object's fields)
parsed and repaired, never trusted: an unknown label -> a synonym or None; an odd intensity
("80%", "8/10", 7) -> normalised or None. The streaming assembler (dialogue.llm.structured)
decides what a None becomes."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from emotion import Emotion, parse_emotion

log = logging.getLogger(__name__)

# Labels models use that are not warmchat's seven, mapped to the nearest one (emotion.parse_emotion
# knows the common synonyms; these are the ones seen from chat models asked for a "feeling").
_EXTRA_SYNONYMS = {
    "love": "happy", "loving": "happy", "warm": "happy", "playful": "happy", "amused": "happy",
    "grateful": "happy", "hopeful": "happy", "proud": "happy", "relieved": "happy", "delighted": "happy",
    "enthusiastic": "happy", "friendly": "happy", "pleased": "happy", "positive": "happy",
    "happiness": "happy", "elated": "happy", "thrilled": "happy", "supportive": "happy",
    "sorry": "sad", "sympathetic": "sad", "empathetic": "sad", "compassionate": "sad",
    "disappointed": "sad", "upset": "sad", "lonely": "sad", "melancholy": "sad", "hurt": "sad",
    "concerned": "sad", "negative": "sad",
    "frustrated": "angry", "irritated": "angry", "furious": "angry", "outraged": "angry",
    "worried": "fearful", "nervous": "fearful", "terrified": "fearful", "frightened": "fearful",
    "shocked": "surprised", "astonished": "surprised", "curious": "surprised", "confused": "surprised",
    "intrigued": "surprised", "wow": "surprised",
    "grossed": "disgusted", "revolted": "disgusted", "repulsed": "disgusted",
    "thoughtful": "neutral", "serene": "neutral", "peaceful": "neutral", "relaxed": "neutral",
    "reserved": "neutral", "bored": "neutral", "okay": "neutral", "ok": "neutral", "fine": "neutral",
}

_NUM = r"(?P<num>\d+(?:[.,]\d+)?\s*(?:%|/\s*10{1,2})?|\.\d+)"
# "[happy 0.6]", "(sad, 0.3)", "[Emotion: happy | 0.6]", "[happy]", "[happy:0.6]"
_TAG = re.compile(
    r"^\s*[\[(]\s*(?:emotion|feeling|mood)?\s*[:=]?\s*(?P<label>[A-Za-z][A-Za-z ]{0,20}?)\s*"
    r"(?:[,:;|/=]?\s*(?:intensity\s*[:=]?\s*)?" + _NUM + r")?\s*[\])]",
    re.IGNORECASE,
)
# "Emotion: happy (0.6)" / "Feeling = sad 0.3" on a line of its own
_TAG_LINE = re.compile(
    r"^\s*(?:emotion|feeling|mood)\s*[:=]\s*(?P<label>[A-Za-z]+)\s*[\[(,]?\s*(?:" + _NUM + r")?\s*[\])]?\s*$",
    re.IGNORECASE,
)



@dataclass(frozen=True, slots=True)
class EmotionTag:
    """The emotion part of a structured reply as the model wrote it, after repair."""

    emotion: Emotion | None  # None: the model's label was not an emotion we know
    intensity: float | None  # None: the model gave no usable intensity


def _parse_label(raw: str) -> Emotion | None:
    key = raw.strip().lower()
    for candidate in (key, key.split()[0] if key.split() else key, key.rstrip("ly")):
        try:
            return parse_emotion(_EXTRA_SYNONYMS.get(candidate, candidate))
        except ValueError:
            continue
    return None


def _parse_intensity(raw: str | None) -> float | None:
    if not raw:
        return None
    s = raw.replace(" ", "").replace(",", ".")
    try:
        if s.endswith("%"):
            value = float(s[:-1]) / 100.0
        elif "/" in s:
            num, den = s.split("/")
            value = float(num) / float(den)
        else:
            value = float(s)
            if value > 1.0:  # "7" on a 0-10 scale, "70" on a 0-100 scale
                value = value / 10.0 if value <= 10.0 else value / 100.0
    except (ValueError, ZeroDivisionError):
        return None
    return min(max(value, 0.0), 1.0)


def parse_tag(line: str) -> tuple[EmotionTag | None, str]:
    """Parse a leading emotion tag. Returns (tag or None, the text after the tag).

    A tag whose label is unknown is still consumed (it must not be spoken) and comes back with
    emotion None, with a warning logged; the ReplyAssembler then repairs it.
    """
    tag, rest, raw_label = _match_tag(line)
    if tag is not None and tag.emotion is None:
        log.warning("LLM reply tag has unknown emotion %r; repairing", raw_label)
    return tag, rest


def _match_tag(line: str) -> tuple[EmotionTag | None, str, str]:
    """parse_tag without logging; also returns the label as written."""
    m = _TAG.match(line) or _TAG_LINE.match(line.split("\n", 1)[0])
    if m is None:
        return None, line, ""
    rest = line[m.end():] if m.re is _TAG else (line.split("\n", 1)[1] if "\n" in line else "")
    return EmotionTag(_parse_label(m.group("label")), _parse_intensity(m.group("num"))), rest, m.group("label")


def _is_emotion_tag(text: str) -> bool:
    tag = _match_tag(text)[0]
    return tag is not None and tag.emotion is not None


def _parse_json(raw: str) -> tuple[EmotionTag | None, str] | None:
    """Parse `{"emotion":..., "intensity":..., "text":...}` (also inside a ``` fence)."""
    s = raw.strip()
    if s.startswith("```"):
        s = s.strip("`").strip()
        if s.lower().startswith("json"):
            s = s[4:]
    start, end = s.find("{"), s.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(s[start:end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    text = next((data[k] for k in ("text", "reply", "response", "message", "content") if k in data), None)
    if not isinstance(text, str):
        return None
    label_raw = data.get("emotion", data.get("feeling", data.get("mood")))
    tag = None
    if isinstance(label_raw, str):
        label = _parse_label(label_raw)
        if label is None:
            log.warning("LLM JSON reply has unknown emotion %r; repairing", label_raw)
        intensity_raw = data.get("intensity")
        intensity = _parse_intensity(str(intensity_raw)) if isinstance(intensity_raw, (int, float, str)) else None
        tag = EmotionTag(label, intensity)
    return tag, text
