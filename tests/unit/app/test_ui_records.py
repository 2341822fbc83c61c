"""Persona and profile records as the UI saves, imports and deletes them."""

from __future__ import annotations

import pytest

from app.conversation import Services
from app.settings import Settings
from app.ui.context import UIContext
from app.ui.persona_tab import persona_files
from app.ui.profile_tab import profile_files
from app.ui.records import RecordError
from dialogue.store import ConversationStore
from tests.fakes import FakeLLM, fake_emotion_of


@pytest.fixture
def ctx(tmp_path):
    settings = Settings(data_dir=tmp_path)
    services = Services(store=ConversationStore(settings.db_path), llm=FakeLLM(), emotion_of=fake_emotion_of)
    return UIContext(services=services, settings=settings)


def test_persona_save_import_delete(ctx, tmp_path):
    files = persona_files(ctx)
    assert "ada" in files.all() and not files.is_user("ada")
    with pytest.raises(RecordError) as err:
        files.build({"name": "Bad Name!", "display_name": "x", "system_prompt": "y"})
    assert err.value.field == "name"
    with pytest.raises(RecordError) as err:
        files.build({"name": "bo", "display_name": "Bo"})
    assert err.value.field == "system_prompt"
    rec = files.build({"name": "bo", "display_name": "Bo", "system_prompt": "You are Bo."})
    files.save(rec)
    assert files.all()["bo"].display_name == "Bo" and files.is_user("bo")
    (tmp_path / "in.toml").write_text('name = "cy"\ndisplay_name = "Cy"\nsystem_prompt = "You are Cy."\n')
    assert files.import_file(tmp_path / "in.toml").name == "cy"
    with pytest.raises(RecordError):
        files.delete("ada")  # built in
    files.delete("bo")
    assert "bo" not in files.all()


def test_profile_save_and_bad_import(ctx, tmp_path):
    files = profile_files(ctx)
    assert files.all(), "built-in profiles are listed"
    base = next(iter(files.all().values()))
    copy = base.model_copy(update={"name": "mine"})
    files.save(copy)
    assert files.all()["mine"].expressiveness == base.expressiveness
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RecordError, match="not a readable"):
        files.import_file(tmp_path / "bad.json")
    with pytest.raises(RecordError) as err:
        files.build({"name": "x", "expressiveness": 9})
    assert err.value.field == "expressiveness"
