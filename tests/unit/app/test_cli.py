"""The command line: help documents every command; piped chat works with a fake LLM."""

from __future__ import annotations

import io

import pytest

from app import cli
from app.chat_repl import ChatRepl
from app.conversation import Conversation, Services
from app.personas import get_persona
from app.settings import Settings
from dialogue.store import ConversationStore
from tests.fakes import FakeLLM, fake_emotion_of

COMMANDS = ("chat", "serve", "demo", "render", "export", "personas", "conversations", "delete", "train-motion", "mimic",
            "train-renderer")


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_chat_help_documents_slash_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["chat", "--help"])
    out = capsys.readouterr().out
    for name in ("/regen", "/edit", "/branches", "/switch", "/save", "/load", "/quit"):
        assert name in out


@pytest.fixture
def repl(tmp_path):
    settings = Settings(data_dir=tmp_path)
    store = ConversationStore(settings.db_path)
    services = Services(store=store, llm=FakeLLM([("Sure thing. Happy to help!", "happy", 0.7)]),
                        emotion_of=fake_emotion_of)
    conv = Conversation.start(services, get_persona("ada", None))
    yield ChatRepl(settings, services, conv)
    store.close()


def test_piped_chat_answers_with_emotion_and_branches(repl, tmp_path):
    stdin = io.StringIO("hello there\n/regen\n/branches\n/save " + str(tmp_path / "c.json") + "\n/quit\n")
    out = io.StringIO()
    assert repl.run(stdin, out, interactive=False) == 0
    text = out.getvalue()
    assert "Sure thing. Happy to help!" in text
    assert "[happy 0.7]" in text
    assert text.count("turns)") == 2  # two branches listed
    assert (tmp_path / "c.json").is_file()


def test_bad_command_does_not_end_the_chat(repl):
    out = io.StringIO()
    repl.run(io.StringIO("/switch nosuchnode\n/edit 9 hi\nhello\n"), out, interactive=False)
    text = out.getvalue()
    assert text.count("! ") >= 2 and "Sure thing." in text


def test_delete_removes_a_conversation_and_its_media(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WARMCHAT_DATA_DIR", str(tmp_path))
    settings = Settings()
    with ConversationStore(settings.db_path) as store:
        conv = Conversation.start(Services(store=store, llm=FakeLLM(), emotion_of=fake_emotion_of), get_persona("ada", None))
    media = tmp_path / "media" / conv.id / "turn"
    media.mkdir(parents=True)
    (media / "voice.wav").write_bytes(b"RIFF")
    assert cli.main(["delete", conv.id]) == 0
    assert not (tmp_path / "media" / conv.id).exists() and "deleted" in capsys.readouterr().out
    assert cli.main(["delete", conv.id]) == 1  # unknown now: said on stderr, nothing else touched
    assert f"no conversation {conv.id!r}" in capsys.readouterr().err
