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


# --- malformed files are named, the others stay ----------------------------------------------------


def broken_files(ctx):
    profiles = ctx.settings.profiles_dir
    profiles.mkdir(parents=True)
    (profiles / "broken.json").write_text("{not json")
    (profiles / "mine.json").write_text('{"name": "mine", "mirroring": 0.9}')
    personas = ctx.settings.personas_dir
    personas.mkdir(parents=True)
    (personas / "bad.toml").write_text('name = "bad"\n')


def test_one_malformed_profile_does_not_hide_the_others(ctx):
    from app.ui.profile_tab import profile_files, profile_problems

    broken_files(ctx)
    names = set(profile_files(ctx).all())
    assert {"mine", "warm", "calm"} <= names and "broken" not in names
    (problem,) = profile_problems(ctx)
    assert "broken.json" in problem and "not valid JSON" in problem


def test_the_tabs_open_filled_and_name_malformed_files(ctx):
    import gradio as gr

    from app.ui.persona_tab import build_persona_tab
    from app.ui.profile_tab import build_profile_tab

    broken_files(ctx)
    with gr.Blocks():
        persona_load, persona_outputs = build_persona_tab(ctx)
        profile_load, profile_outputs = build_profile_tab(ctx)
    values = persona_load()
    assert len(values) == len(persona_outputs)
    form = dict(zip([getattr(c, "elem_id", None) or i for i, c in enumerate(persona_outputs)], values))
    assert form["persona-pick"].value == "ada"
    assert form["persona-display"] == "Ada" and form["persona-avatar"].value == "astronaut"
    assert "bad.toml" in form["persona-status"] and "display_name" in form["persona-status"]
    picker, status = profile_load()
    assert "mine" in [c[0] if isinstance(c, tuple) else c for c in picker.choices]
    assert "broken.json" in status


def test_message_slots_hide_only_when_empty():
    """Gradio prefixes each selector of a list, also inside :has(); a list there never matches
    (success messages were never shown)."""
    import re

    from app.ui.demo import CSS

    css = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)  # comments may quote the broken rule
    rules = [r for r in css.split("}") if ".wc-slot" in r]
    assert rules and not any(re.search(r":has\([^)]*,", r) for r in rules)
    assert any(":not(:has(.wc-ok))" in r for r in rules)


def test_a_persona_with_an_unknown_profile_is_not_saved(ctx):
    import gradio as gr

    from app.ui.persona_tab import build_persona_tab

    with gr.Blocks() as demo:
        build_persona_tab(ctx)
    save = next(fn.fn for fn in demo.fns.values() if fn.api_name == "save_persona")
    out = save("nova", "Nova", "", "Hi", "You are Nova.", "stylized", "no-such-profile", "piper", 1.0, 1.0, None)
    assert "no-such-profile" in out[2] and "not saved" in out[4]
    assert not (ctx.settings.personas_dir / "nova.toml").exists()
    out = save("nova", "Nova", "", "Hi", "You are Nova.", "stylized", "calm", "piper", 1.0, 1.0, None)
    assert "saved persona" in out[4] and (ctx.settings.personas_dir / "nova.toml").is_file()


def test_preview_uses_the_uploaded_portrait(ctx, tmp_path):
    import shutil

    import gradio as gr

    from app.ui.persona_tab import build_persona_tab
    from avatar.render import AVATAR_DIR

    seen = []

    class Avatar:
        def say_to_file(self, text, emotion, persona, out):
            from avatar.motion.clip import MotionClip, Role
            from avatar.pipeline import Segment

            seen.append(persona.avatar)
            return Segment(Role.SPEAKING, MotionClip.still(5), emotion, video=tmp_path / "preview.mp4")

    ctx.services.avatar = Avatar()
    upload = tmp_path / "upload" / "me.png"
    upload.parent.mkdir()
    shutil.copy(AVATAR_DIR / "astronaut.png", upload)
    with gr.Blocks() as demo:
        build_persona_tab(ctx)
    preview = next(fn.fn for fn in demo.fns.values() if fn.fn is not None and fn.fn.__name__ == "preview")
    form = ("astro", "Astro", "", "Hello from orbit!", "You are Astro.", "stylized", "warm", "piper", 1.0, 1.0)
    path, text = preview(*form, str(upload))
    assert "Hello from orbit!" in text and path.endswith("preview.mp4")
    used = seen[-1]
    assert used != "stylized" and open(used, "rb").read() == upload.read_bytes()
    assert str(ctx.settings.data_dir) in used  # a copy in the data dir, not the upload's temp path
    preview(*form, None)
    assert seen[-1] == "stylized"  # no upload: the avatar field


# --- reopening and naming conversations ----------------------------------------------------------


def test_conversations_are_titled_by_their_first_message(ctx):
    from app.ui.view import conversation_label

    conv = ctx.open_or_start(None)
    list(conv.send("My cat is called Tom and he is   very old"))
    list(conv.send("second message"))
    (row,) = ctx.services.store.list_conversations()
    assert row.title == "My cat is called Tom and he is very old"
    label = conversation_label(row.title, row.persona, row.updated_at)
    assert label.startswith("My cat is called Tom and he is very old · ada · today ")
    old = conversation_label("t", "ada", 30 * 86400.0, now=100 * 86400.0)
    assert "1970" in old and "today" not in old and "yesterday" not in old
    assert "yesterday" in conversation_label("t", "ada", 100 * 86400.0, now=101 * 86400.0)
    long = ctx.open_or_start(None)
    list(long.send("x" * 300))
    assert max(len(r.title) for r in ctx.services.store.list_conversations()) <= 60


def test_a_reload_reopens_the_browsers_last_conversation(ctx):
    from app.access import new_token

    h = _Handlers(ctx)
    mine, theirs = new_token(), new_token()  # two browsers' owner cookies (app/access.py)
    older = ctx.open_or_start(None, owner=mine)
    list(h.send("the older one", older, mine))
    newer = ctx.open_or_start(None, owner=mine)
    list(h.send("the newer one", newer, mine))
    other = ctx.open_or_start(None, owner=theirs)
    list(h.send("someone else's", other, theirs))
    list(h.send("the older one again", older, mine))  # the last one used, not the last one made
    out = h.on_load(None, mine)
    state, history = out[0], out[1]
    assert state.id == older.id and "the older one again" in str(history)
    assert "someone else's" not in str(out)
    fresh = h.on_load(None, new_token())  # a browser with no conversations: the greeting, no state set
    assert not hasattr(fresh[0], "id") and "Ada" in str(fresh[1]) + str(fresh[4])
    # neither load touches the status line: an error for a message sent before it finished stays
    assert all(_is_skip(page[5]) for page in (out, fresh))


def _is_skip(update) -> bool:
    import gradio as gr

    return update == gr.skip()


def test_an_empty_or_corrupt_recording_gets_a_clear_message(ctx, tmp_path):
    """Gradio decoded the recording itself and answered "Could not preprocess input component";
    now dialogue.asr reads it and says what is wrong."""
    import gradio as gr

    from app.ui.context import Lazy
    from tests.e2e.fake_media import FakeASR

    ctx.asr = Lazy(FakeASR)
    h = _Handlers(ctx)
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(gr.Error, match="the recording cannot be used: audio file is empty"):
        h.transcribe(str(empty))
    corrupt = tmp_path / "corrupt.webm"
    corrupt.write_bytes(b"\x1aE\xdf\xa3" + b"not really webm" * 50)
    with pytest.raises(gr.Error, match="the recording cannot be used: cannot decode audio file"):
        h.transcribe(str(corrupt))


def test_serve_warms_up_only_once_the_page_answers(tmp_path, monkeypatch):
    """Gradio's launch() gives up when the page does not load within 3 s; the warm-up (model
    loading) running beside it made `warmchat serve` fail to start on a loaded machine."""
    from app.ui import server

    order = []

    class Demo:
        def queue(self, **kw):
            return self

        def launch(self, **kw):
            order.append(("launch", kw.get("prevent_thread_lock")))

        def block_thread(self):
            order.append(("block", None))

    monkeypatch.setattr("app.services.build_services", lambda settings, with_media=False: object())
    monkeypatch.setattr("app.ui.demo.build_demo", lambda *a, **k: Demo())
    monkeypatch.setattr(server, "_warm_up_in_background", lambda services, settings: order.append(("warm", None)))
    assert server.serve(Settings(data_dir=tmp_path)) == 0
    assert order == [("launch", True), ("warm", None), ("block", None)]
