"""Bad input a person (or a broken file) can give the CLI and the stores: each gets a message a
person can act on, naming the file at fault, and nothing else stops working (issue 13)."""

from __future__ import annotations

import io
import json

import pytest

from app import cli
from app.chat_repl import ChatRepl
from app.conversation import Conversation, Services
from app.personas import Persona, get_persona, save_persona
from app.settings import Settings, SettingsError
from dialogue.store import ConversationStore, StoreError
from tests.fakes import FakeLLM, fake_emotion_of
from tests.unit.app.test_cli import repl  # noqa: F401 - the piped-chat fixture (answers "Sure thing. ...")


def run_lines(repl: ChatRepl, text: str) -> str:
    out = io.StringIO()
    repl.run(io.StringIO(text), out, interactive=False)
    return out.getvalue()


# --- the personas and conversations commands ----------------------------------------------------


def test_personas_command_lists_them_and_names_a_malformed_file(tmp_path, capsys):
    (tmp_path / "personas").mkdir()
    (tmp_path / "personas" / "broken.toml").write_text('name = "broken"\n')
    assert cli.main(["--data-dir", str(tmp_path), "personas"]) == 0
    out, err = capsys.readouterr()
    assert "ada" in out and "grace" in out
    assert "broken.toml" in err and "display_name" in err  # the file and the field at fault


def test_conversations_command_on_a_data_dir_that_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "not-yet"
    assert cli.main(["--data-dir", str(missing), "conversations"]) == 0
    assert "no saved conversations" in capsys.readouterr().out
    assert not missing.exists()  # listing creates nothing


def test_conversations_command_names_a_broken_database(tmp_path, capsys):
    (tmp_path / "conversations.sqlite3").write_bytes(b"this is not sqlite" * 100)
    assert cli.main(["--data-dir", str(tmp_path), "conversations"]) == 1
    err = capsys.readouterr().err
    assert "conversations.sqlite3" in err and "not a database" in err and "OperationalError" not in err


def test_store_errors_name_the_database_file(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 200)
    with pytest.raises(StoreError, match=r"bad\.sqlite3"):
        ConversationStore(bad)
    store = ConversationStore(tmp_path / "deeper" / "new.sqlite3")  # a missing folder is created
    store.close()
    with pytest.raises(StoreError, match=r"new\.sqlite3"):
        store.list_conversations()  # closed: SQLite's "closed database" names the file


# --- configuration ------------------------------------------------------------------------------


def test_bad_config_toml_names_the_file(tmp_path, monkeypatch):
    config = tmp_path / "warmchat.toml"
    config.write_text('persona = "ada\n[llm\n')
    monkeypatch.setenv("WARMCHAT_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"warmchat\.toml: not valid TOML"):
        Settings(data_dir=tmp_path)
    config.write_text("[llm]\nbackend = 3\n")
    with pytest.raises(SettingsError, match=r"llm\.backend.*warmchat\.toml"):
        Settings(data_dir=tmp_path)


def test_cli_reports_a_bad_config_in_one_line(tmp_path, monkeypatch, capsys):
    config = tmp_path / "warmchat.toml"
    config.write_text("[[[")
    monkeypatch.setenv("WARMCHAT_CONFIG", str(config))
    assert cli.main(["--data-dir", str(tmp_path), "personas"]) == 1
    err = capsys.readouterr().err
    assert str(config) in err and "TOMLDecodeError" not in err


# --- text that is not valid UTF-8 ---------------------------------------------------------------


def test_invalid_utf8_on_stdin_does_not_end_the_chat(repl):
    # what `printf 'ok\n\xff\xfe\nok2\n' | warmchat chat` reads with Python's surrogateescape
    stdin = io.TextIOWrapper(io.BytesIO(b"ok\n\xff\xfe\nok2\n"), encoding="utf-8", errors="surrogateescape")
    out = io.StringIO()
    assert repl.run(stdin, out, interactive=False) == 0
    assert out.getvalue().count("Sure thing.") == 3
    texts = [t.text for t in repl.conv.path()]
    assert "\ufffd\ufffd" in texts and "ok2" in texts  # the bad bytes are kept as U+FFFD
    reopened = repl.services.store.load(repl.conv.id)
    assert "\ufffd\ufffd" in [t.text for t in reopened.turns()]


def test_cli_chat_reads_stdin_with_replacement(monkeypatch, tmp_path):
    """cmd_chat makes the real stdin replace undecodable bytes (one place for every piped line)."""
    stdin = io.TextIOWrapper(io.BytesIO(b"\xff\n"), encoding="utf-8", errors="strict")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    seen = {}

    class Repl:
        @classmethod
        def create(cls, settings, conversation_id=None):
            return cls()

        def run(self, inp, out, interactive):
            seen["line"] = inp.readline()
            out.write("\udcff")  # would raise UnicodeEncodeError with errors="strict"
            return 0

    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("app.chat_repl.ChatRepl", Repl)
    assert cli.main(["--data-dir", str(tmp_path), "chat"]) == 0
    assert seen["line"] == "\ufffd\n"


# --- /save and /load ----------------------------------------------------------------------------


def test_save_without_a_file_says_how(repl, tmp_path):
    text = run_lines(repl, "/save\n")
    assert "give a file name" in text and "IsADirectoryError" not in text
    text = run_lines(repl, f"/save {tmp_path}\n")  # a folder: saved inside it, named by id
    assert (tmp_path / f"{repl.conv.id}.json").is_file() and "saved to" in text
    text = run_lines(repl, f"/save {tmp_path / 'no' / 'such' / 'dir.json'}\n")
    assert "does not exist" in text


def test_load_of_a_file_that_is_not_an_export(repl, tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    text = run_lines(repl, f"/load {passwd}\n")
    assert "is not a warmchat conversation export" in text and "JSONDecodeError" not in text
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    text = run_lines(repl, f"/load {tmp_path / 'other.json'}\n")
    assert "other.json" in text and "not a warmchat.conversation export" in text
    text = run_lines(repl, "/load ../../etc/nothing-here\n")
    assert "no file and no saved conversation" in text


def test_load_of_a_saved_export_opens_it(repl, tmp_path):
    run_lines(repl, f"hello\n/save {tmp_path / 'c.json'}\n")
    first = repl.conv.id
    text = run_lines(repl, f"/new\n/load {tmp_path / 'c.json'}\n")
    assert "opened conversation" in text and repl.conv.id != first
    assert "hello" in [t.text for t in repl.conv.path()]


# --- record names -------------------------------------------------------------------------------


def test_a_persona_name_the_ui_accepts_also_saves(tmp_path):
    from app.ui.storage import check_name

    name = "a" * 36  # 33-40 characters passed the UI check and then failed the model's pattern
    assert check_name(name) == name
    persona = get_persona("ada").model_copy(update={"name": name})
    persona = Persona.model_validate(persona.model_dump())
    assert save_persona(persona, tmp_path).is_file()
    assert get_persona(name, tmp_path).name == name
    with pytest.raises(ValueError, match="1-40"):
        check_name("a" * 41)


# --- a backend that breaks on what its server sent ------------------------------------------------


class GarbageLLM:
    """A backend whose server sent something it cannot parse (what openai's SSE decoder raises)."""

    def stream_reply(self, persona, path, cues):
        json.loads("data: not json")
        yield


def test_a_backend_that_breaks_on_garbage_fails_the_turn_not_the_session(tmp_path):
    from app.turn_events import TurnFailed

    store = ConversationStore(tmp_path / "c.sqlite3")
    services = Services(store=store, llm=GarbageLLM(), emotion_of=fake_emotion_of)
    conv = Conversation.start(services, get_persona("ada"))
    events = list(conv.send("hello"))
    assert isinstance(events[-1], TurnFailed)
    assert "cannot be read" in events[-1].message and "JSONDecodeError" in events[-1].message
    assert conv.path()[-1].text == "hello"  # kept
    store.close()


# --- a persona whose emotion profile is missing ----------------------------------------------------


def test_a_persona_with_a_missing_profile_is_refused_the_same_way_in_cli_and_web(tmp_path, capsys):
    from app.personas import PersonaError
    from app.ui.chat_tab import _Handlers
    from app.ui.context import UIContext

    settings = Settings(data_dir=tmp_path, persona="lost")
    lost = get_persona("ada").model_copy(update={"name": "lost", "emotion_profile": "gone"})
    save_persona(lost, settings.personas_dir)
    store = ConversationStore(settings.db_path)
    services = Services(store=store, llm=FakeLLM(), emotion_of=fake_emotion_of, profiles_dir=settings.profiles_dir)
    with pytest.raises(PersonaError, match="'lost' uses the emotion profile 'gone'"):
        Conversation.start(services, lost)
    # the web app: the same message in the chat's status line, nothing started
    outs = list(_Handlers(UIContext(services=services, settings=settings)).send("hello", None))
    assert outs[-1][0] is None and "emotion profile &#x27;gone&#x27;" in outs[-1][5]
    # the CLI: the same message, one line, no traceback
    assert cli.main(["--data-dir", str(tmp_path), "chat", "--persona", "lost"]) == 1
    assert "emotion profile 'gone'" in capsys.readouterr().err
    store.close()


def test_a_profile_deleted_during_a_conversation_fails_the_turn_clearly(tmp_path):
    from app.turn_events import TurnFailed

    settings = Settings(data_dir=tmp_path)
    store = ConversationStore(settings.db_path)
    services = Services(store=store, llm=FakeLLM(), emotion_of=fake_emotion_of, profiles_dir=settings.profiles_dir)
    conv = Conversation.start(services, get_persona("ada"))
    conv.persona = conv.persona.model_copy(update={"emotion_profile": "gone"})
    events = list(conv.send("hello"))
    assert isinstance(events[-1], TurnFailed) and "emotion profile 'gone'" in events[-1].message
    store.close()


# --- long work shows progress ----------------------------------------------------------------------


def test_render_shows_each_step_and_the_frames_done(tmp_path, monkeypatch, capsys):
    import numpy as np

    from app.media import AvatarComponents
    from avatar.motion.clip import MotionClip
    from avatar.pipeline import AvatarPipeline
    from avatar.voice.base import SpeechClip

    class TTS:
        def synthesize(self, text, voice, emotion):
            return SpeechClip(np.zeros(16000 * 2, np.float32), 16000, text=text)

    class Motion:
        def generate(self, request):
            return MotionClip.still(int(round(request.speech.duration * 25)))

    class Renderer:
        def stream_frames(self, motion):
            for _ in range(motion.num_frames):
                yield np.zeros((16, 16, 3), np.uint8)

    monkeypatch.setattr(AvatarComponents, "pipeline", lambda self, persona: AvatarPipeline(TTS(), Motion(), Renderer()))
    out = tmp_path / "clip.mp4"
    assert cli.main(["--data-dir", str(tmp_path), "render", "--text", "word " * 1000, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "voice: synthesizing 5000 characters" in captured.err
    assert "rendering and encoding 50 frames" in captured.err
    assert "frames 25/50 ( 50 %)" in captured.err and "frames 50/50 (100 %)" in captured.err
    assert out.is_file() and "wrote" in captured.out
