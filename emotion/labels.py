"""The one table of emotion labels: everything warmchat knows per label lives in `TABLE`.

Every other package derives its per-label data from here: the `Emotion` enum (and so the order
of the motion model's label embedding), the valence/arousal prototypes, the prompt wording, the
badge colour, the voice delivery, the default face, the empathic response and how the head moves.
Adding a label means adding one `LabelSpec` row; `check_table` fails loudly at import time when a
row is incomplete or inconsistent, and consumers look labels up by name (a checkpoint trained
without the new label refuses it with a clear error, see avatar.motion.generator).

Sources for the numbers: valence/arousal after Russell (1980) and Posner et al. (2005); voice
directions after Scherer (2003) and Juslin & Laukka (2003); faces after Ekman & Friesen's FACS
prototypes (EMFACS), written as ARKit blendshape weights at full intensity, then calibrated on
clips rendered the way `warmchat render` makes them, with the FER2013 judge in the loop (bench/
expression.py; a coordinate search per emotion over its FACS channels, capped where a face would
turn into a caricature, then looked at; sad, anger and fear compared again on the same clips with
the dlib identity distance counted, bench/face_search.py): sad as raised inner brows over heavy
lids, the corners drawn down and out (AU1+15+20, a little AU4, AU6 and AU7; a stronger mouth
still, with the lids nearly shut, read as a cartoon frown on the astronaut); anger as lowered brows over glaring eyes, a squint and a little sneer, lips pressed
(AU4+5+7+9+23, the cheeks raised a little); surprise as high brows, widened eyes and a dropped,
rounded jaw (AU1+2+5+26); fear as raised inner brows, eyes wide open and lips stretched down over
a dropped jaw (AU1+5+15+20+26, a trace of AU4; on a portrait with glasses the eyes and the mouth
carry it, not the brows); happy with the teeth showing. The faces are tuned against the same
FER2013 model that bench/expression.py judges them with: its shares are not an
independent test of legibility (the bench also reports mediapipe landmark displacement).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True, slots=True)
class HeadStyle:
    """How an emotion shapes head motion (multipliers over the neutral motion).

    gain: amplitude of sway, beats and nods; speed: how fast the head moves (time-scale of the
    sway, > 1 livelier); pitch: a constant head pitch offset in radians (> 0 looks down).
    """

    gain: float = 1.0
    speed: float = 1.0
    pitch: float = 0.0


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """One emotion label.

    name: the label as written everywhere (lower case, a word).
    valence, arousal: its prototype on Russell's circumplex, each in [-1, 1].
    colour: "#rrggbb" of its badge, tree node and timeline mark.
    prompt: a few words telling a language model what the label means (the prompt's label list).
    answer: one line on how to answer a person who feels this ("" = no special advice).
    meet: the few words of a prompt's feeling note on how to meet a person who feels this.
    delivery: (rate, pitch, gain) voice multipliers at intensity 1.
    face: ARKit blendshape weights in [0, 1] at intensity 1 (a profile may override them).
    empathy: the label the avatar answers a person feeling this with.
    head: how the emotion shapes head motion.
    listener: the face of a listener who takes this feeling on from the person it listens to, at
        full strength (a profile may override it): the mouth closed or slightly parted, the brows
        and eyes doing the work. None: the speaker's face x emotion.profile.LISTENER_SCALE.
    """

    name: str
    valence: float
    arousal: float
    colour: str
    prompt: str
    answer: str
    delivery: tuple[float, float, float]
    face: Mapping[str, float]
    empathy: str
    head: HeadStyle = field(default_factory=HeadStyle)
    meet: str = ""
    listener: Mapping[str, float] | None = None


def _face(**weights: float) -> Mapping[str, float]:
    """Symmetric ARKit weights: `smile=0.7` sets mouthSmileLeft and mouthSmileRight."""
    out: dict[str, float] = {}
    for name, w in weights.items():
        if name.endswith("_"):  # unpaired channel (browInnerUp_, jawOpen_)
            out[name[:-1]] = w
        else:
            out[f"{name}Left"] = w
            out[f"{name}Right"] = w
    return MappingProxyType(out)


TABLE: tuple[LabelSpec, ...] = (
    LabelSpec("neutral", 0.0, 0.0, "#8a8f98", "calm, matter-of-fact", "",
              (1.0, 1.0, 1.0), _face(), "neutral", HeadStyle(), meet="be warm and interested",
              listener=_face()),
    LabelSpec("happy", 0.8, 0.45, "#f2b705", "glad, warm, amused",
              "The person is happy. Share their joy in one or two short sentences.",
              (1.10, 1.10, 1.15),
              _face(mouthSmile=1.0, cheekSquint=0.8, eyeSquint=0.4, mouthUpperUp=0.35, mouthDimple=0.2, jawOpen_=0.12),
              "happy", HeadStyle(gain=1.2, speed=1.1, pitch=-0.02), meet="share their joy",
              listener=_face(mouthSmile=1.0, cheekSquint=0.6, eyeSquint=0.3, mouthUpperUp=0.45, mouthDimple=0.3, jawOpen_=0.1)),
    LabelSpec("sad", -0.7, -0.45, "#3b6fd8", "sorry, low, sympathetic",
              "The person is sad. Comfort them gently in one or two short sentences.",
              (0.82, 0.90, 0.70),
              _face(mouthFrown=0.6, mouthStretch=0.8, eyeSquint=0.3, browDown=0.3, browInnerUp_=1.0, eyeBlink=0.6,
                    cheekSquint=0.15),
              "sad", HeadStyle(gain=0.8, speed=0.75, pitch=0.08), meet="comfort them gently",
              listener=_face(mouthFrown=1.0, mouthStretch=0.6, eyeSquint=0.8, browDown=0.15, browInnerUp_=1.0, eyeBlink=0.3,
                             cheekSquint=0.3)),
    # anger's head: firm, no wider than neutral's (at 1.1 hopper's anger read 0.60 instead of 0.67)
    LabelSpec("angry", -0.65, 0.75, "#d64541", "cross, indignant, firm",
              "The person is angry. Stay calm and understanding, in one or two short sentences.",
              (1.08, 1.04, 1.35),
              _face(browDown=1.0, eyeSquint=0.7, noseSneer=0.5, mouthPress=0.4, mouthUpperUp=0.3, eyeWide=0.4, cheekSquint=0.4),
              "sad", HeadStyle(gain=1.0, speed=0.9, pitch=0.03),
              meet="stay calm and on their side, no lecture",
              listener=_face(browDown=0.7, browOuterUp=0.45, eyeSquint=0.45, cheekSquint=1.0, noseSneer=0.8, mouthPress=0.3,
                             mouthUpperUp=0.3, eyeWide=0.15)),
    LabelSpec("surprised", 0.25, 0.85, "#9b59b6", "amazed, astonished, curious",
              "The person is surprised. Reply with interest in one or two short sentences.",
              (1.10, 1.14, 1.20),
              _face(browOuterUp=0.7, browInnerUp_=0.7, eyeWide=0.6, jawOpen_=0.8, mouthFunnel_=1.0, mouthStretch=0.15),
              "surprised", HeadStyle(gain=1.3, speed=1.2, pitch=-0.04), meet="be curious with them",
              listener=_face(browOuterUp=1.0, browInnerUp_=0.3, eyeWide=1.0, jawOpen_=0.45, mouthFunnel_=1.0)),
    # fear's head moves less than neutral's and is not tipped down (frozen, wary): FER2013 read a
    # fearful face tipped further down as surprised (bench/expression: 0.55 instead of 0.65-0.78)
    LabelSpec("fearful", -0.45, 0.9, "#2a9d8f", "afraid, worried, anxious",
              "The person is afraid. Reassure them gently in one or two short sentences.",
              (1.15, 1.10, 0.95),
              _face(browInnerUp_=1.0, eyeWide=0.8, mouthStretch=0.45, jawOpen_=0.3, mouthFrown=0.9, noseSneer=0.2),
              "sad", HeadStyle(gain=0.8, speed=1.3, pitch=0.0), meet="reassure them calmly",
              listener=_face(browInnerUp_=1.0, eyeWide=0.8, mouthStretch=0.3, jawOpen_=0.2, mouthFrown=1.0)),
    LabelSpec("disgusted", -0.8, 0.25, "#6b8e23", "repelled, put off, disapproving",
              "The person is upset. Be understanding, in one or two short sentences.",
              (0.94, 0.96, 1.05),
              _face(noseSneer=0.7, mouthUpperUp=0.4, browDown=0.45, eyeSquint=0.45, cheekSquint=0.4,
                    mouthFrown=0.4, mouthLowerDown=0.25, mouthShrugLower_=0.2),
              "disgusted", HeadStyle(gain=0.9, speed=0.9, pitch=0.0), meet="share their distaste lightly",
              listener=_face(noseSneer=0.8, mouthUpperUp=0.5, browDown=0.5, eyeSquint=0.5, mouthFrown=0.4,
                             mouthShrugLower_=0.3)),
)


class LabelTableError(ValueError):
    """The label table is incomplete or inconsistent; the message names the row and field."""


_NAME = re.compile(r"^[a-z]+$")
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


def check_table(table: tuple[LabelSpec, ...]) -> None:
    """Raise LabelTableError unless `table` is usable: unique lower-case names, "neutral" first,
    prototypes in [-1, 1] (only neutral at the origin, and each nearest-in-direction to itself),
    colours "#rrggbb", prompt and meet wording, positive delivery factors, face weights in [0, 1],
    empathy naming a row."""
    names = [s.name for s in table]
    if not names or names[0] != "neutral":
        raise LabelTableError("the first label must be 'neutral'")
    if len(set(names)) != len(names):
        raise LabelTableError(f"duplicate label names in {names}")
    for s in table:
        where = f"label {s.name!r}"
        if not _NAME.match(s.name):
            raise LabelTableError(f"{where}: name must be one lower-case word")
        if not (-1 <= s.valence <= 1 and -1 <= s.arousal <= 1):
            raise LabelTableError(f"{where}: valence/arousal outside [-1, 1]")
        if (s.name == "neutral") != (math.hypot(s.valence, s.arousal) == 0.0):
            raise LabelTableError(f"{where}: only neutral sits at the origin")
        if not _COLOUR.match(s.colour):
            raise LabelTableError(f"{where}: colour {s.colour!r} is not #rrggbb")
        if not s.prompt.strip():
            raise LabelTableError(f"{where}: prompt wording is empty")
        if not s.meet.strip():
            raise LabelTableError(f"{where}: no words on how to meet it (meet)")
        if len(s.delivery) != 3 or min(s.delivery) <= 0:
            raise LabelTableError(f"{where}: delivery must be three positive factors")
        for what, face in (("face", s.face), ("listener", s.listener or {})):
            bad = {k: w for k, w in face.items() if not 0.0 <= w <= 1.0}
            if bad:
                raise LabelTableError(f"{where}: {what} weights outside [0, 1]: {bad}")
        if s.empathy not in names:
            raise LabelTableError(f"{where}: empathy {s.empathy!r} is not a label")
        if s.head.gain <= 0 or s.head.speed <= 0:
            raise LabelTableError(f"{where}: head gain and speed must be positive")
    for s in table[1:]:
        best = max(table[1:], key=lambda o: (o.valence * s.valence + o.arousal * s.arousal)
                   / math.hypot(o.valence, o.arousal))
        if best is not s:
            raise LabelTableError(f"label {s.name!r}: its prototype reads as {best.name!r}")


check_table(TABLE)

# The label enum, made from the table (so a new row is a new label everywhere).
Emotion = Enum("Emotion", [(s.name.upper(), s.name) for s in TABLE], type=str, module=__name__)
Emotion.__doc__ = "An emotion label (members in `TABLE` order; the value is the label's name)."

_BY_NAME: dict[str, LabelSpec] = {s.name: s for s in TABLE}


def spec(label: "Emotion | str") -> LabelSpec:
    """The table row of `label` (an Emotion or its name).

    Raises:
        KeyError: no such label (the message lists the known ones).
    """
    name = label.value if isinstance(label, Enum) else str(label)
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown emotion label {name!r}; known: {', '.join(_BY_NAME)}") from None


def label_names() -> tuple[str, ...]:
    """All label names in table order (the motion model's label order)."""
    return tuple(_BY_NAME)


def per_label(attr: str) -> dict["Emotion", object]:
    """{Emotion: getattr(row, attr)} for every row, e.g. per_label("colour")."""
    return {Emotion(s.name): getattr(s, attr) for s in TABLE}
