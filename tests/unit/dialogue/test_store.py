"""ConversationStore on a real SQLite file (these double as the "real SQLite" integration tests)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dialogue.store import ConversationStore, StoreError
from dialogue.store_schema import SCHEMA_VERSION
from dialogue.tree import TalkingTree
from dialogue.turns import TurnMedia
from tests.unit.dialogue.helpers import turn

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(tmp_path):
    s = ConversationStore(tmp_path / "chats.db")
    yield s
    s.close()


def save_branched(store: ConversationStore, cid: str = "c1") -> TalkingTree:
    """Save root -> u1 -> {a1, a1b (regenerated)} -> u2 under a1b, turn by turn; return the tree."""
    store.create(cid, "branched", "ada")
    tree = TalkingTree(cid, "branched")
    for t in (
        turn("root", None, "avatar", "happy", 0.5, t=0),
        turn("u1", "root", "user", "sad", 0.4, t=1),
        turn("a1", "u1", "avatar", "neutral", 0.0, t=2),
    ):
        store.save_turn(cid, tree.add(t))
    store.save_turn(cid, tree.regenerate("a1", turn("a1b", None, "avatar", "happy", 0.7, t=3)))
    u2 = turn("u2", "a1b", "user", "happy", 0.3, t=4).model_copy(update={"media": TurnMedia(audio="media/c/u2/voice.wav")})
    store.save_turn(cid, tree.add(u2))
    return tree


def assert_same_tree(a: TalkingTree, b: TalkingTree) -> None:
    assert a.turns() == b.turns()
    assert a.current == b.current
    assert [[t.id for t in br] for br in a.branches()] == [[t.id for t in br] for br in b.branches()]


def test_round_trip(store):
    tree = save_branched(store)
    loaded = store.load("c1")
    assert_same_tree(loaded, tree)
    assert loaded.title == "branched" and loaded.current == "u2"
    assert loaded.get("u2").media == TurnMedia(audio="media/c/u2/voice.wav")
    assert [t.id for t in loaded.children("u1")] == ["a1", "a1b"]


def test_restart_keeps_the_tree(tmp_path):
    with ConversationStore(tmp_path / "chats.db") as first:
        tree = save_branched(first)
        first.set_current("c1", "a1")
    with ConversationStore(tmp_path / "chats.db") as again:
        loaded = again.load("c1")
        assert loaded.turns() == tree.turns() and loaded.current == "a1"
        [info] = again.list_conversations()
        assert (info.id, info.title, info.persona, info.current_node) == ("c1", "branched", "ada", "a1")
        assert again.integrity_check() == "ok"


def test_schema_version_wal_and_foreign_keys(store, tmp_path):
    assert store.schema_version() == SCHEMA_VERSION
    raw = sqlite3.connect(tmp_path / "chats.db")
    assert raw.execute("SELECT version FROM schema_version").fetchall() == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    raw.execute("INSERT INTO schema_version VALUES (99, 0)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        ConversationStore(tmp_path / "chats.db")


def test_conversation_management(store):
    save_branched(store, "c1")
    store.create("c2", "second")
    assert store.create(None, "auto") not in {"c1", "c2"}
    with pytest.raises(StoreError, match="already exists"):
        store.create("c1")
    store.rename("c1", "renamed")
    assert store.info("c1").title == "renamed" and store.load("c1").title == "renamed"
    assert store.list_conversations()[0].id == "c1"  # most recently updated first
    store.delete("c1")
    assert "c1" not in {c.id for c in store.list_conversations()}
    assert store._conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0  # cascaded
    for op, args in [(store.load, ("c1",)), (store.rename, ("c1", "x")), (store.delete, ("c1",)),
                     (store.set_current, ("c2", "ghost")), (store.export_json, ("nope",))]:
        with pytest.raises(StoreError, match="no (conversation|turn)"):
            op(*args)
    empty = store.load("c2")
    assert len(empty) == 0 and empty.current is None


def test_save_turn_rejects_bad_turns_and_writes_nothing(store):
    save_branched(store)
    before = store.load("c1")
    bad = [
        ("c1", turn("x", "ghost", "user"), "no turn 'ghost'"),
        ("c1", turn("r2", None, "avatar"), "second root"),
        ("c1", turn("u1", "root", "user"), "duplicate id"),
        ("nope", turn("y", None, "avatar"), "no conversation 'nope'"),
    ]
    for cid, t, message in bad:
        with pytest.raises(StoreError, match=message):
            store.save_turn(cid, t)
    with pytest.raises(StoreError, match="no turn 'ghost'"):  # unknown current node: rolled back
        store.save_turn("c1", turn("u3", "a1", "user"), current_node="ghost")
    assert_same_tree(store.load("c1"), before)


def test_interrupted_write_rolls_back(store, tmp_path, monkeypatch):
    """A failure inside the transaction, after the INSERT, leaves no trace of the turn."""
    tree = save_branched(store)

    def crash(*_args):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "_update_conversation", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        store.save_turn("c1", turn("a2", "u2", "avatar", "happy", 0.5, t=5))
    monkeypatch.undo()
    assert_same_tree(store.load("c1"), tree)  # earlier turns intact, a2 absent, current unchanged
    store.save_turn("c1", turn("a2", "u2", "avatar", "happy", 0.5, t=5))  # the store still works
    store.close()
    with ConversationStore(tmp_path / "chats.db") as again:
        assert again.integrity_check() == "ok" and again.load("c1").current == "a2"


WRITER = """
import os, sys
from dialogue.store import ConversationStore
from dialogue.turns import AvatarRole, Speaker, Turn

store = ConversationStore(sys.argv[1])
store.create("crash", "crash test")

def make(i):
    who = Speaker.USER if i % 2 else Speaker.AVATAR
    return Turn(id=f"t{i}", parent=f"t{i - 1}" if i else None, speaker=who,
                avatar_role=AvatarRole.SPEAKING, text="x" * 2000, created_at=float(i))

if sys.argv[2] == "exit-mid-turn":
    for i in range(5):
        store.save_turn("crash", make(i))
    store._update_conversation = lambda *a: os._exit(3)  # dies after the INSERT, before COMMIT
    store.save_turn("crash", make(5))
else:
    i = 0
    while True:
        store.save_turn("crash", make(i))
        print(i, flush=True)
        i += 1
"""


def run_writer(db: Path, mode: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), mode], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_sound_chain(db: Path, at_least: int) -> TalkingTree:
    with ConversationStore(db) as again:
        assert again.integrity_check() == "ok"
        tree = again.load("crash")
    assert len(tree) >= at_least
    n = len(tree)
    assert [t.id for t in tree.path_to(tree.current)] == [f"t{i}" for i in range(n)]  # current = last saved
    return tree


def test_process_exit_mid_turn_keeps_earlier_turns(tmp_path):
    proc = run_writer(tmp_path / "chats.db", "exit-mid-turn")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    tree = assert_sound_chain(tmp_path / "chats.db", at_least=5)
    assert len(tree) == 5 and "t5" not in tree


def test_sigkill_while_writing_in_a_loop(tmp_path):
    proc = run_writer(tmp_path / "chats.db", "loop")
    seen = -1
    try:
        for line in proc.stdout:
            seen = int(line)
            if seen >= 40:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert seen >= 40, proc.stderr.read()
    assert_sound_chain(tmp_path / "chats.db", at_least=seen + 1)


def test_export_import_round_trip(store, tmp_path):
    tree = save_branched(store)
    doc = json.loads(json.dumps(store.export_json("c1")))
    assert (doc["format"], doc["version"], doc["tree"]["format"]) == ("warmchat.conversation", 1, "warmchat.tree")
    with ConversationStore(tmp_path / "other.db") as other:
        assert other.import_json(doc) == "c1"  # free id kept
        assert_same_tree(other.load("c1"), tree)
        assert other.info("c1").persona == "ada"
    copy_id = store.import_json(json.dumps(doc))  # JSON text accepted; id taken -> new id
    assert copy_id != "c1"
    copy = store.load(copy_id)
    assert copy.turns() == tree.turns() and copy.current == "u2" and copy.title == "branched"
    assert_same_tree(store.load("c1"), tree)  # the original is untouched


@pytest.mark.parametrize(
    "broken, message",
    [
        ('{"format": "warmchat.conversation", "version": 1, ', "not valid JSON"),
        ('["a list"]', "not a warmchat.conversation export \\(format='list'\\)"),
        (lambda d: d.update(format="warmchat.tree"), "not a warmchat.conversation export"),
        (lambda d: d.update(version=7), "unsupported warmchat.conversation version 7"),
        (lambda d: d.pop("conversation"), "invalid export: conversation"),
        (lambda d: d["conversation"].pop("created_at"), "conversation.created_at: Field required"),
        (lambda d: d.pop("tree"), "invalid export: not a warmchat.tree"),
        (lambda d: d["tree"]["turns"][2].update(parent="ghost"), "parents not in the tree"),
        (lambda d: d["tree"]["turns"][0]["emotion"].update(valence=5), "invalid turn.*valence"),
    ],
)
def test_malformed_import_gives_clear_error_and_writes_nothing(store, broken, message):
    save_branched(store)
    if callable(broken):
        doc = store.export_json("c1")
        broken(doc)
    else:
        doc = broken
    with pytest.raises(StoreError, match=message):
        store.import_json(doc)
    assert [c.id for c in store.list_conversations()] == ["c1"]


def test_threads_write_and_read_concurrently(store):
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            cid = store.create(f"w{k}")
            parent = None
            for i in range(20):
                t = turn(f"{k}-{i}", parent, "user" if i % 2 else "avatar", t=i)
                store.save_turn(cid, t)
                parent = t.id
                store.load(cid)
        except BaseException as e:  # noqa: BLE001 - reported to the main thread below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert errors == []
    for k in range(4):
        tree = store.load(f"w{k}")
        assert len(tree) == 20 and tree.current == f"{k}-19" and tree.depth(f"{k}-19") == 19
    assert store.integrity_check() == "ok"


def test_owner_is_kept_listed_and_not_exported(store):
    store.create("mine", "a", "ada", owner="digest-a")
    store.create("theirs", "b", "ada", owner="digest-b")
    store.create("local", "c", "ada")
    assert store.owner("mine") == "digest-a" and store.owner("local") is None
    assert [c.id for c in store.list_conversations(owner="digest-a")] == ["mine"]
    assert {c.id for c in store.list_conversations()} == {"mine", "theirs", "local"}
    with pytest.raises(StoreError, match="no conversation"):
        store.owner("ghost")
    assert "digest-a" not in json.dumps(store.export_json("mine"))
    copy = store.import_json(store.export_json("mine"))
    assert store.owner(copy) is None  # an imported copy belongs to the local user


def test_version_1_database_gains_the_owner_column(tmp_path):
    from dialogue.store_schema import MIGRATIONS

    raw = sqlite3.connect(tmp_path / "old.db")
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
    for statement in MIGRATIONS[0]:
        raw.execute(statement)
    raw.execute("INSERT INTO schema_version VALUES (1, 0)")
    raw.execute("INSERT INTO conversations (id, title, persona, created_at, updated_at) VALUES ('old', 't', 'ada', 1, 1)")
    raw.commit()
    raw.close()
    with ConversationStore(tmp_path / "old.db") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.owner("old") is None and store.info("old").title == "t"


# --- turn media: a typed record; old dict-shaped rows still load ---------------------------------


def test_turn_media_round_trips_with_its_ordered_segments_and_voice(store):
    cid = store.create(title="media")
    media = TurnMedia(dir="media/c/a1", segments=("media/c/a1/000-0.mp4", "media/c/a1/000-1.mp4", "media/c/a1/001-0.mp4"))
    store.save_turn(cid, turn("a1", None, "avatar", "neutral", 0.0).model_copy(update={"media": media}), "a1")
    voice = TurnMedia(dir="media/c/u1", audio="media/c/u1/voice.wav")
    store.save_turn(cid, turn("u1", "a1", "user", "happy", 0.5).model_copy(update={"media": voice}), "u1")
    tree = store.load(cid)
    assert tree.get("a1").media == media and tree.get("a1").media.segments[1].endswith("000-1.mp4")
    assert tree.get("u1").media.audio == "media/c/u1/voice.wav"
    assert tree.get("u1").media.files() == ("media/c/u1/voice.wav",)
    doc = store.export_json(cid)
    assert store.load(store.import_json(doc)).get("a1").media == media


@pytest.mark.parametrize("old, expected", [
    ({}, TurnMedia()),
    ({"dir": "media/c/a1"}, TurnMedia(dir="media/c/a1")),
    ({"video": "media/c/a1/000-0.mp4"}, TurnMedia(segments=("media/c/a1/000-0.mp4",))),
    ({"audio": "u2.wav", "motion": "u2.npz"}, TurnMedia(audio="u2.wav")),
])
def test_rows_saved_as_free_form_dicts_load_as_turn_media(store, tmp_path, old, expected):
    cid = store.create(title="old")
    store.save_turn(cid, turn("a1", None, "avatar", "neutral", 0.0), "a1")
    raw = sqlite3.connect(tmp_path / "chats.db")
    raw.execute("UPDATE turns SET media = ? WHERE id = 'a1'", (json.dumps(old),))
    raw.commit()
    raw.close()
    assert store.load(cid).get("a1").media == expected


# --- the emotion arc: one entry per sentence; rows and exports from before it still load ---------


def test_the_arc_round_trips_and_old_rows_and_exports_default_to_the_turns_emotion(store, tmp_path):
    from dialogue.turns import SentenceEmotion
    from emotion import EmotionState

    cid = store.create(title="arc")
    sad = EmotionState.of("sad", 0.6)
    arc = (SentenceEmotion(text="Oh no.", emotion=sad),
           SentenceEmotion(text="Do you want to talk about it?", emotion=sad.scaled(0.7)))
    a1 = turn("a1", None, "avatar", "sad", 0.6).model_copy(update={"text": "Oh no. Do you want to talk about it?",
                                                                   "arc": arc})
    store.save_turn(cid, a1, "a1")
    store.save_turn(cid, turn("u1", "a1", "user", "happy", 0.5), "u1")
    tree = store.load(cid)
    assert tree.get("a1").arc == arc and tree.get("u1").arc == ()
    assert store.load(store.import_json(store.export_json(cid))).get("a1").arc == arc

    raw = sqlite3.connect(tmp_path / "chats.db")  # a row saved before arcs existed
    raw.execute("UPDATE turns SET arc = NULL WHERE id = 'a1'")
    raw.commit()
    raw.close()
    old = store.load(cid).get("a1")
    assert old.arc == (SentenceEmotion(text=old.text, emotion=sad),)
    doc = store.export_json(cid)
    for t in doc["tree"]["turns"]:
        t.pop("arc", None)  # an export written before arcs
    assert store.load(store.import_json(doc)).get("a1").arc == old.arc


def test_version_2_database_gains_the_arc_column(tmp_path):
    from dialogue.store_schema import MIGRATIONS

    raw = sqlite3.connect(tmp_path / "old.db")
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
    for version, statements in enumerate(MIGRATIONS[:2], 1):
        for statement in statements:
            raw.execute(statement)
        raw.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    raw.execute("INSERT INTO conversations (id, title, persona, created_at, updated_at) VALUES ('old', 't', 'ada', 1, 1)")
    raw.execute("INSERT INTO turns (conversation_id, id, parent_id, speaker, avatar_role, text, emotion, created_at) "
                "VALUES ('old', 'r', NULL, 'avatar', 'speaking', 'Hello there.', ?, 1)",
                ('{"label": "happy", "valence": 0.4, "arousal": 0.2, "intensity": 0.5}',))
    raw.commit()
    raw.close()
    with ConversationStore(tmp_path / "old.db") as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
        root = store.load("old").get("r")
        assert [(e.text, e.emotion) for e in root.arc] == [("Hello there.", root.emotion)]
