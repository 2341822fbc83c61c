"""Reverse-level traversal on hand-made trees; expected figures worked out by hand in comments.

EmotionState.of(label, k) puts a state at k x the label's prototype:
happy (0.8, 0.45), sad (-0.7, -0.45), angry (-0.65, 0.75), neutral (0, 0) with intensity 0.
Default weights: path node decay**level = 1, 0.6, 0.36, 0.216, 0.1296, 0.07776; siblings half that.
"""

import pytest

from dialogue.cues import emotion_cues, reverse_levels
from dialogue.tree import TalkingTree, TreeError
from emotion import Emotion, EmotionState
from tests.unit.dialogue.helpers import chain, turn

approx = lambda x: pytest.approx(x, abs=1e-6)  # noqa: E731


def ids(levels):
    return [[t.id for t in level] for level in levels]


def test_linear_happy_path():
    tree = chain(
        ("a0", "avatar", "happy", 0.5),  # v 0.40  a 0.225
        ("u1", "user", "happy", 0.6),  # v 0.48  a 0.27
        ("a1", "avatar", "happy", 0.7),  # v 0.56  a 0.315
        ("u2", "user", "happy", 0.8),  # v 0.64  a 0.36
    )
    assert ids(reverse_levels(tree, "u2")) == [["u2"], ["a1"], ["u1"], ["a0"]]
    cues = emotion_cues(tree, "u2")
    assert tree.emotion_cues("u2") == cues
    assert tree.emotion_cues("u2", decay=1.0) != cues
    # weights 1, .6, .36, .216 (sum 2.176); valence (.64 + .336 + .1728 + .0864) / 2.176
    assert cues.dominant.label is Emotion.HAPPY
    assert cues.dominant.valence == approx(1.2352 / 2.176)  # 0.567647
    assert cues.dominant.intensity == approx((0.8 + 0.42 + 0.216 + 0.108) / 2.176)
    # two points per speaker: the weighted fit passes through both, slope = difference
    assert cues.user_trend == (approx(0.16), approx(0.09))
    assert cues.avatar_trend == (approx(0.16), approx(0.09))
    assert cues.user_current == tree.get("u2").emotion
    assert cues.avatar_recent == (tree.get("a1").emotion, tree.get("a0").emotion)
    # weight x intensity: u2 .8, a1 .42, u1 .216, a0 .108 -> top 3, no sharp change
    assert [(m.turn_id, round(m.weight, 6)) for m in cues.salient] == [("u2", 0.8), ("a1", 0.42), ("u1", 0.216)]
    assert "warming up" in cues.summary()


SAD_TURN = (
    ("a0", "avatar", "neutral", 0.0),
    ("u1", "user", "happy", 0.5),  # v .40   a .225
    ("a1", "avatar", "neutral", 0.0),
    ("u2", "user", "neutral", 0.0),  # v 0     a 0
    ("a2", "avatar", "sad", 0.5),  # v -.35  a -.225
    ("u3", "user", "sad", 1.0),  # v -.70  a -.45
)


def test_path_turning_sad_has_negative_weighted_user_trend():
    tree = chain(*SAD_TURN)
    cues = emotion_cues(tree, "u3")
    # user turns x = 0, 1, 2 with weights .1296, .36, 1: W = 1.4896, Swx = 2.36, Swx2 = 4.36
    # valence: Swy = .05184 - .7 = -.64816, Swxy = -1.4
    # slope = (W Swxy - Swx Swy) / (W Swx2 - Swx^2) = -.5557824 / .925056 = -0.600808
    # arousal: Swy = .02916 - .45 = -.42084, Swxy = -.9 -> -.3474576 / .925056 = -0.375607
    assert cues.user_trend == (approx(-0.5557824 / 0.925056), approx(-0.3474576 / 0.925056))
    # unweighted least squares would give (-0.7 - 0.4) / 2 = -0.55: recent turns pull harder
    assert cues.user_trend[0] < -0.55 - 0.04
    # avatar: a0 0, a1 0, a2 -.35 at weights .07776, .216, .6 (W .89376, Swx .216 + 1.2 = 1.416,
    # Swx2 .216 + 2.4 = 2.616, Swy = -.21, Swxy = -.42)
    num, den = 0.89376 * -0.42 - 1.416 * -0.21, 0.89376 * 2.616 - 1.416**2
    assert cues.avatar_trend[0] == approx(num / den)
    # dominant: W = 2.38336, Swv = -.7 - .21 + .05184 = -.85816; label sad (1.3 vs happy .0648)
    assert cues.dominant.label is Emotion.SAD
    assert cues.dominant.valence == approx(-0.85816 / 2.38336)
    assert cues.user_current.label is Emotion.SAD
    assert [m.turn_id for m in cues.salient] == ["u3", "a2", "u1"]  # intensity-0 turns never count
    assert "becoming more upset" in cues.summary()


def _regenerated_tree(angry_kept: bool) -> TalkingTree:
    """a0 -> u1 -> {happy a1, angry a1x}; u2 continues the one kept (the later-created one)."""
    tree = TalkingTree("c")
    tree.add(turn("a0", None, "avatar", t=0))
    tree.add(turn("u1", "a0", "user", "happy", 0.5, t=1))  # v .4
    first, second = ("a1", "a1x") if angry_kept else ("a1x", "a1")
    for i, tid in enumerate((first, second)):
        label, k = ("angry", 1.0) if tid == "a1x" else ("happy", 0.5)  # angry v -.65 ; happy v .4
        tree.add(turn(tid, "u1", "avatar", label, k, t=2 + i))
    tree.add(turn("u2", second, "user", "happy", 0.5, t=4))  # v .4
    return tree


def test_regenerated_angry_sibling_weighs_less_than_a_path_node():
    sibling = emotion_cues(_regenerated_tree(angry_kept=False), "u2")
    on_path = emotion_cues(_regenerated_tree(angry_kept=True), "u2")
    assert ids(reverse_levels(_regenerated_tree(False), "u2")) == [["u2"], ["a1", "a1x"], ["u1"], ["a0"]]
    # both: W = 1 + .6 + .3 + .36 + .216 = 2.476
    # sibling angry: .4 + .6*.4 + .3*(-.65) + .36*.4 = .589 -> 0.237884
    # path angry:    .4 + .6*(-.65) + .3*.4 + .36*.4 = .274 -> 0.110662
    # no angry reply at all (W 2.176): .784 -> 0.360294
    assert sibling.dominant.valence == approx(0.589 / 2.476)
    assert on_path.dominant.valence == approx(0.274 / 2.476)
    assert on_path.dominant.valence < sibling.dominant.valence < 0.784 / 2.176
    # the angry reply is a sharp change from u1 (|-.65 - .4| = 1.05) either way
    assert "a1x" in {m.turn_id for m in sibling.salient}
    # avatar_recent only follows the path
    assert sibling.avatar_recent[0].label is Emotion.HAPPY
    assert on_path.avatar_recent[0].label is Emotion.ANGRY


def test_sharp_change_is_salient_beyond_top_three():
    tree = chain(
        ("a0", "avatar", "happy", 1.0),  # v .8           score .07776
        ("u1", "user", "sad", 0.8),  # v -.56: dv 1.36    score .10368
        ("a1", "avatar", "neutral", 0.0),  # v 0: dv .56  score 0
        ("u2", "user", "happy", 0.6),  # v .48: dv .48   score .216
        ("a2", "avatar", "happy", 0.6),  # score .36
        ("u3", "user", "happy", 0.6),  # score .6
    )
    salient = emotion_cues(tree, "u3").salient
    assert [m.turn_id for m in salient] == ["u3", "a2", "u2", "u1", "a1"]
    assert [round(m.weight, 6) for m in salient] == [0.6, 0.36, 0.216, 0.10368, 0.0]


def test_max_levels_cuts_the_traversal():
    tree = chain(*SAD_TURN)
    assert ids(reverse_levels(tree, "u3", max_levels=2)) == [["u3"], ["a2"]]
    cues = emotion_cues(tree, "u3", max_levels=2)
    assert cues.dominant.valence == approx((-0.7 + 0.6 * -0.35) / 1.6)  # -0.56875
    assert cues.user_trend == (0.0, 0.0)  # one user turn in reach
    assert cues.avatar_recent == (tree.get("a2").emotion,)
    three = emotion_cues(tree, "u3", max_levels=3)  # u2 (v 0) and u3 (v -.7) in reach
    assert three.user_trend == (approx(-0.7), approx(-0.45))
    assert len(reverse_levels(tree, "u3", max_levels=99)) == 6


def test_root_only_tree():
    tree = chain(("r", "avatar", "happy", 0.5))
    cues = emotion_cues(tree, "r")
    assert ids(reverse_levels(tree, "r")) == [["r"]]
    assert cues.dominant == tree.get("r").emotion
    assert cues.user_current == EmotionState() and cues.user_trend == (0.0, 0.0)
    assert cues.avatar_recent == (tree.get("r").emotion,)
    assert [(m.turn_id, m.weight) for m in cues.salient] == [("r", 0.5)]


def test_avatar_recent_keeps_three_most_recent():
    specs = [(f"{w}{i}", w, "happy", 0.1 * (i + 1)) for i in range(5) for w in ("avatar", "user")]
    tree = chain(*[(f"n{i}", who, lab, k) for i, (_, who, lab, k) in enumerate(specs)])
    recent = emotion_cues(tree, "n9").avatar_recent
    assert [round(e.intensity, 6) for e in recent] == [0.5, 0.4, 0.3]


def test_bad_arguments():
    tree = chain(("r", "avatar", "happy", 0.5))
    with pytest.raises(TreeError):
        emotion_cues(tree, "ghost")
    for kwargs in ({"decay": 0.0}, {"decay": 1.5}, {"sibling_weight": -0.1}, {"max_levels": 0}):
        with pytest.raises(ValueError):
            emotion_cues(tree, "r", **kwargs)


def test_path_cues_match_the_tree_traversal_without_siblings():
    from dialogue.cues import path_cues

    tree = chain(
        ("a0", "avatar", "neutral", 0.0),
        ("u1", "user", "happy", 0.6),
        ("a1", "avatar", "happy", 0.7),
        ("u2", "user", "sad", 0.9),  # a sharp change: salient
    )
    for node in ("u1", "a1", "u2"):
        assert path_cues(tree.path_to(node)) == emotion_cues(tree, node)
    with pytest.raises(ValueError):
        path_cues([])


def test_cues_of_a_turn_not_added_yet_are_those_it_gets_once_added():
    """A reply's prompt is built ahead while the person still speaks: the cues of their message
    must be the very ones the turn gets once it is sent (siblings, sharp changes and all)."""
    from dialogue.cues import emotion_cues_if_added

    for angry_kept in (True, False):
        tree = _regenerated_tree(angry_kept)
        tree.add(turn("u2b", tree.get("u2").parent, "user", "sad", 0.9, t=5))  # an edit: a sibling of u2
        parent = tree.get("u2").parent
        new = turn("u3", parent, "user", "angry", 0.8, t=6)
        ahead = emotion_cues_if_added(tree, new)
        ahead_short = emotion_cues_if_added(tree, new, max_levels=1)
        tree.add(new)
        assert ahead == emotion_cues(tree, "u3")
        assert ahead_short == emotion_cues(tree, "u3", max_levels=1)
    root = turn("r", None, "user", "happy", 0.5)
    assert emotion_cues_if_added(TalkingTree("c"), root).user_current == root.emotion
    with pytest.raises(TreeError):
        emotion_cues_if_added(chain(("r", "avatar", "happy", 0.5)), turn("x", "ghost", "user"))
    with pytest.raises(ValueError):
        emotion_cues_if_added(chain(("r", "avatar", "happy", 0.5)), turn("x", "r", "user"), decay=0.0)
