"""Export subtitles: one cue per sentence, spanning all of the sentence's encoded parts (issue 13,
item 17: the reply's first sentence is two segments and its cue ended with the first)."""

from __future__ import annotations

from app.export import _Piece, subtitle_cues
from app.personas import get_persona
from avatar.motion.clip import MotionClip, Role
from avatar.pipeline import Segment
from dialogue.turns import AvatarRole, Speaker, Turn
from emotion import EmotionState


def piece(turn: Turn, seconds: float, text: str, role=Role.SPEAKING) -> _Piece:
    frames = int(round(seconds * 25))
    return _Piece(turn, Segment(role, MotionClip.still(frames), EmotionState.neutral(), None, text))


def test_a_sentence_in_two_parts_gets_one_cue_over_both():
    ada = get_persona("ada")
    user = Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="Hello")
    reply = Turn(parent=user.id, speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING,
                 text="That is a long first sentence. Short.")
    full = Segment(Role.SPEAKING, MotionClip.still(100), EmotionState.neutral(), None,
                   "That is a long first sentence.")
    first, rest = full.part(0, 25), full.part(25, 100)  # as the pipeline cuts the first sentence
    assert rest.text == ""
    pieces = [piece(user, 2.0, "Hello", Role.LISTENING), _Piece(reply, first), _Piece(reply, rest),
              piece(reply, 1.0, "Short.")]
    cues = subtitle_cues(pieces, ada)
    assert [c[2] for c in cues] == ["You: Hello", "Ada: That is a long first sentence.", "Ada: Short."]
    assert cues[1][:2] == (2.0, 6.0)  # the whole sentence: 1 s + 3 s, not the first second only
    assert cues[2][:2] == (6.0, 7.0)


def test_an_untexted_segment_of_another_turn_does_not_extend_a_cue():
    ada = get_persona("ada")
    a = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi.")
    b = Turn(parent=a.id, speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="")
    cues = subtitle_cues([piece(a, 1.0, "Hi."), piece(b, 2.0, "", Role.LISTENING)], ada)
    assert cues == [(0.0, 1.0, "Ada: Hi.")]
