import json

import pytest

from dialogue.tree import TalkingTree, TreeError
from dialogue.turns import Speaker
from emotion import Emotion, EmotionState
from tests.unit.dialogue.helpers import chain, turn


@pytest.fixture
def branched() -> TalkingTree:
    """root -> u1 -> {a1 (t=2), a1b (t=5, regenerated)}; a1 -> u2 ; a1b -> u2b."""
    tree = TalkingTree("c1", "branched")
    tree.add(turn("root", None, "avatar", "happy", 0.5, t=0))
    tree.add(turn("u1", "root", "user", "happy", 0.5, t=1))
    tree.add(turn("a1", "u1", "avatar", "neutral", 0.0, t=2))
    tree.add(turn("u2", "a1", "user", "sad", 0.5, t=3))
    tree.regenerate("a1", turn("a1b", None, "avatar", "happy", 0.8, t=5))
    tree.add(turn("u2b", "a1b", "user", "happy", 0.3, t=6))
    return tree


def test_add_and_navigate(branched):
    assert len(branched) == 6 and branched.root.id == "root"
    assert [t.id for t in branched.children("u1")] == ["a1", "a1b"]
    assert [t.id for t in branched.siblings("a1")] == ["a1b"]
    assert branched.siblings("root") == []
    assert [t.id for t in branched.path_to("u2b")] == ["root", "u1", "a1b", "u2b"]
    assert branched.depth("root") == 0 and branched.depth("u2") == 3
    assert branched.leaf_of("u1").id == "u2b"  # the most recent alternative
    assert branched.leaf_of("a1").id == "u2"
    assert [[t.id for t in b] for b in branched.branches()] == [
        ["root", "u1", "a1", "u2"],
        ["root", "u1", "a1b", "u2b"],
    ]
    assert [t.id for t in branched.turns()] == ["root", "u1", "a1", "u2", "a1b", "u2b"]
    assert branched.current == "u2b"


def test_children_ordered_by_created_at_not_insertion():
    tree = TalkingTree("c")
    tree.add(turn("r", None, "avatar"))
    tree.add(turn("late", "r", "user", t=9))
    tree.add(turn("early", "r", "user", t=3))
    assert [t.id for t in tree.children("r")] == ["early", "late"]
    assert tree.leaf_of("r").id == "late"


def test_regenerate_adds_sibling_and_keeps_old(branched):
    old = branched.get("a1")
    new = branched.regenerate("a1", turn("a1c", "u1", "avatar", "sad", 0.4, t=7))
    assert new.parent == "u1" and branched.get("a1") is old
    assert [t.id for t in branched.children("u1")] == ["a1", "a1b", "a1c"]
    assert branched.current == "a1c"
    with pytest.raises(TreeError, match="parent"):
        branched.regenerate("a1", turn("x", "root", "avatar", t=8))
    with pytest.raises(TreeError, match="avatar"):
        branched.regenerate("u1", turn("y", None, "avatar", t=8))
    with pytest.raises(TreeError, match="'w' is the user's"):
        branched.regenerate("a1", turn("w", None, "user", t=8))
    with pytest.raises(TreeError, match="root"):
        branched.regenerate("root", turn("z", None, "avatar", t=8))


def test_edit_user_turn_makes_branch(branched):
    old = branched.get("u2")
    new = branched.edit("u2", "actually I'm fine", emotion=EmotionState.of("happy", 0.4), turn_id="u2e", created_at=10)
    assert (new.id, new.parent, new.text, new.speaker) == ("u2e", "a1", "actually I'm fine", Speaker.USER)
    assert new.emotion.label is Emotion.HAPPY and new.media.empty
    assert branched.get("u2") == old and old.text == "u2 says something"
    assert [t.id for t in branched.siblings("u2e")] == ["u2"]
    kept = branched.edit("u1", "hi again", created_at=11)
    assert kept.emotion == branched.get("u1").emotion and kept.id != "u1"
    with pytest.raises(TreeError, match="user turn"):
        branched.edit("a1", "nope")


def test_errors():
    tree = TalkingTree("c")
    with pytest.raises(TreeError, match="not in the tree"):
        tree.add(turn("a", "ghost", "user"))
    tree.add(turn("r", None, "avatar"))
    with pytest.raises(TreeError, match="already has a root"):
        tree.add(turn("r2", None, "avatar"))
    with pytest.raises(TreeError, match="already in the tree"):
        tree.add(turn("r", None, "avatar"))
    with pytest.raises(TreeError, match="own parent"):
        tree.add(turn("s", "s", "user"))
    with pytest.raises(TreeError, match="no turn 'nope'"):
        tree.get("nope")
    for op in (tree.children, tree.siblings, tree.path_to, tree.leaf_of, tree.depth, tree.set_current):
        with pytest.raises(TreeError):
            op("nope")
    assert len(tree) == 1  # failed adds left nothing behind


def test_empty_tree():
    tree = TalkingTree("c")
    assert tree.root is None and tree.branches() == [] and tree.turns() == [] and tree.current is None


def test_dict_round_trip_is_json_ready(branched):
    branched.set_current("u2")
    doc = json.loads(json.dumps(branched.to_dict()))
    assert doc["format"] == "warmchat.tree" and doc["version"] == 1
    back = TalkingTree.from_dict(doc)
    assert back.turns() == branched.turns()
    assert (back.conversation_id, back.title, back.current) == ("c1", "branched", "u2")
    assert [t.id for t in back.children("u1")] == ["a1", "a1b"]


def test_from_turns_any_order_and_default_current():
    tree = chain(("r", "avatar", "happy", 0.5), ("u", "user", "sad", 0.5), ("a", "avatar", "sad", 0.2))
    back = TalkingTree.from_turns("c", reversed(tree.turns()))
    assert [t.id for t in back.path_to("a")] == ["r", "u", "a"] and back.current == "a"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(format="something.else"), "not a warmchat.tree"),
        (lambda d: d.update(version=2), "unsupported warmchat.tree version 2"),
        (lambda d: d.pop("turns"), "no 'turns' list"),
        (lambda d: d["turns"][1].update(speaker="robot"), "invalid turn.*speaker"),
        (lambda d: d["turns"][2].update(parent="ghost"), "parents not in the tree: \\['ghost'\\]"),
        (lambda d: d["turns"].append(dict(d["turns"][0], id="r2")), "already has a root"),
        (lambda d: d["turns"].append(dict(d["turns"][1])), "appears twice"),
        (lambda d: d.update(current="ghost"), "no turn 'ghost'"),
    ],
)
def test_from_dict_rejects_bad_documents(mutate, message):
    doc = chain(("r", "avatar", "neutral", 0), ("u", "user", "neutral", 0), ("a", "avatar", "neutral", 0)).to_dict()
    mutate(doc)
    with pytest.raises(TreeError, match=message):
        TalkingTree.from_dict(doc)


def test_from_dict_rejects_cycle():
    doc = chain(("r", "avatar", "neutral", 0), ("u", "user", "neutral", 0)).to_dict()
    doc["turns"] += [
        dict(doc["turns"][1], id="x", parent="y"),
        dict(doc["turns"][1], id="y", parent="x"),
    ]
    with pytest.raises(TreeError, match="cycle"):
        TalkingTree.from_dict(doc)
    with pytest.raises(TreeError, match="not a warmchat.tree"):
        TalkingTree.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]
