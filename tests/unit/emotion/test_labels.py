"""The label table drives every per-label table in warmchat, and refuses a broken row loudly."""

from __future__ import annotations

import dataclasses

import pytest

from app.ui.view import EMOTION_COLOURS, emotion_badge
from avatar.motion.conditioning import EMOTIONS, label_index
from avatar.voice.base import VoiceSettings
from avatar.voice.delivery import delivery_for
from dialogue.prompts import COMPACT_BY_EMOTION, FORMAT_INSTRUCTION, MEET
from emotion import Emotion, EmotionProfile, EmotionState
from emotion.labels import TABLE, LabelTableError, check_table, label_names, spec
from emotion.response import EMPATHY
from emotion.state import PROTOTYPES


def test_enum_is_the_table_in_order():
    assert [e.value for e in Emotion] == [s.name for s in TABLE] == list(label_names())
    assert EMOTIONS == tuple(Emotion)


@pytest.mark.parametrize("row", TABLE, ids=lambda s: s.name)
def test_every_consumer_reads_the_row(row):
    emo = Emotion(row.name)
    assert PROTOTYPES[emo] == (row.valence, row.arousal)
    assert EMOTION_COLOURS[emo] == row.colour and row.colour in emotion_badge(EmotionState.of(emo, 0.5))
    assert EMPATHY[emo] is Emotion(row.empathy)
    assert COMPACT_BY_EMOTION.get(emo, "") == row.answer
    assert MEET[emo] == row.meet
    assert row.name in FORMAT_INSTRUCTION
    d = delivery_for(EmotionState.of(emo, 1.0), VoiceSettings())
    assert (d.rate, d.pitch, d.gain) == pytest.approx(row.delivery)
    # a profile without an entry for the label shows the table's default face
    face = EmotionProfile(name="bare").expression(EmotionState.of(emo, 1.0), listening=False)
    assert face == pytest.approx(dict(row.face))
    assert label_index(emo, label_names()) == list(Emotion).index(emo)


def test_face_names_are_arkit_blendshapes():
    from avatar.motion.clip import ARKIT_INDEX

    for row in TABLE:
        assert set(row.face) <= set(ARKIT_INDEX), row.name


def test_unknown_label_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown emotion label 'bored'; known: neutral, happy"):
        spec("bored")
    with pytest.raises(ValueError, match="does not know 'disgusted'"):
        label_index(Emotion.DISGUSTED, ("neutral", "happy", "sad"))


def _with(row: str, **change) -> tuple:
    return tuple(dataclasses.replace(s, **change) if s.name == row else s for s in TABLE)


@pytest.mark.parametrize("table, message", [
    (_with("happy", colour="gold"), "colour 'gold'"),
    (_with("sad", empathy="pity"), "empathy 'pity'"),
    (_with("angry", name="happy"), "duplicate"),
    (_with("fearful", valence=-0.65, arousal=0.75), "reads as 'angry'"),
    (_with("happy", face={"mouthSmileLeft": 1.4}), "outside"),
    (_with("sad", prompt=" "), "prompt"),
    (_with("angry", meet=""), "meet"),
    (TABLE[1:], "first label must be 'neutral'"),
])
def test_a_broken_row_fails_loudly(table, message):
    with pytest.raises(LabelTableError, match=message):
        check_table(table)
