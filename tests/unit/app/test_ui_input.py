"""The web app's handlers on bad or early input (issue 13): nothing raises, every refusal says why."""

from __future__ import annotations

import logging

import pytest

from app.conversation import Services
from app.settings import Settings
from app.ui.chat_tab import _Handlers
from app.ui.context import UIContext
from dialogue.store import ConversationStore
from tests.fakes import FakeLLM, fake_emotion_of


@pytest.fixture
def ctx(tmp_path):
    settings = Settings(data_dir=tmp_path)
    services = Services(store=ConversationStore(settings.db_path), llm=FakeLLM(), emotion_of=fake_emotion_of)
    yield UIContext(services=services, settings=settings)
    services.store.close()


def test_focusing_the_message_box_before_the_first_message_listens_as_the_default_persona(ctx, caplog):
    asked = []

    def listen(persona, emotion=None):
        asked.append(persona.emotion_profile)  # AttributeError on None before the fix
        return str(ctx.settings.data_dir / "listen.mp4")

    ctx.listen = listen
    with caplog.at_level(logging.ERROR):
        video = _Handlers(ctx).listening(None)
    assert asked == ["warm"] and "listen.mp4" in str(video.value)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_picking_a_message_to_edit_fills_the_edit_box(ctx):
    from app.access import new_token

    h = _Handlers(ctx)
    owner = new_token()  # the browser's owner cookie (app/access.py)
    conv = ctx.open_or_start(None, owner=owner)
    list(h.send("My cat is called Tom", conv, owner))
    mine = [t for t in conv.path() if t.text == "My cat is called Tom"][0]
    assert h.edit_text(mine.id, conv, owner) == "My cat is called Tom"
