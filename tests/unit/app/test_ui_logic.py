"""The UI's plain logic: view data, pacing, server checks, record files, tree layout, reopening."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.conversation import Conversation, Services
from app.turn_events import ReplyMedia, ReplySentence
from app.settings import ServerSettings, Settings
from app.ui.context import UIContext
from app.ui.pump import TurnTimeout, stream_paced
from app.ui.server import ServeError, check_server
from app.ui.storage import atomic_write_text
from app.ui.tree_plot import draw_timeline, draw_tree, tree_layout
from app.ui.view import (EMOTION_COLOURS, branch_choices, chat_messages, emotion_badge, emotion_word, feeling_footer,
                         user_turn_choices, writing_bubble)
from dialogue.store import ConversationStore
from dialogue.turns import Speaker
from emotion import Emotion, EmotionState
from tests.fakes import FakeLLM, fake_emotion_of


@pytest.fixture
def ctx(tmp_path):
    settings = Settings(data_dir=tmp_path)
    services = Services(store=ConversationStore(settings.db_path), llm=FakeLLM(), emotion_of=fake_emotion_of)
    return UIContext(services=services, settings=settings)


def talk(conv: Conversation, text: str) -> None:
    for _ in conv.send(text):
        pass


def test_the_writing_bubble_is_an_assistant_message_naming_the_avatar_safely():
    bubble = writing_bubble('Ada <"b">')
    assert bubble["role"] == "assistant"
    assert 'class="wc-writing"' in bubble["content"]
    assert "Ada &lt;&quot;b&quot;&gt; is writing" in bubble["content"] and "<\"b\">" not in bubble["content"]


def test_chat_messages_and_choices(ctx):
    conv = ctx.open_or_start(None)
    talk(conv, "I feel great")
    msgs = chat_messages(conv.path(), "Ada")
    assert [m["role"] for m in msgs] == ["assistant", "user", "assistant"]
    assert msgs[1]["content"] == "I feel great"
    # the bubble ends with its emotion as a small word in the label's colour, never a "[label]" tag
    happy = EMOTION_COLOURS[Emotion.HAPPY]
    assert msgs[2]["content"].endswith(f'<span class="wc-feeling"><span class="wc-emotion" style="color:{happy}">'
                                       'happy</span></span>')
    assert msgs[0]["content"].endswith(emotion_word(conv.path()[0].emotion.label) + "</span>")
    assert not any(f"[{e.value}]" in m["content"] for m in msgs for e in Emotion)
    assert user_turn_choices(conv.path())[0][0] == "1. I feel great"
    for _ in conv.regenerate():
        pass
    choices = branch_choices(conv.tree.branches())
    assert len(choices) == 2 and conv.current in {leaf for _, leaf in choices}


def test_emotion_badge_names_label_and_intensity():
    html = emotion_badge(EmotionState.of("sad", 0.7), "Ada")
    assert "Ada: sad 0.7" in html and "background:#3b6fd8" in html
    assert "—" in emotion_badge(None)


def test_switch_and_reopen_after_restart(ctx, tmp_path):
    conv = ctx.open_or_start(None)
    talk(conv, "first")
    first_reply = conv.current
    for _ in conv.regenerate():
        pass
    ctx.switch(conv, first_reply)
    assert conv.current == first_reply
    # a new process: a new store on the same file
    ctx2 = UIContext(services=Services(store=ConversationStore(ctx.settings.db_path), llm=FakeLLM(),
                                       emotion_of=fake_emotion_of), settings=ctx.settings)
    again = ctx2.open(conv.id)
    assert again.current == first_reply
    assert [t.text for t in again.path()] == [t.text for t in conv.path()]
    assert len(again.tree.branches()) == 2


def test_stream_paced_holds_media_until_previous_segment_ends():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    def events():
        yield ReplySentence("a", 0)
        yield ReplyMedia(_segment(2.0, "a.mp4"), 0)
        yield ReplyMedia(_segment(1.0, "b.mp4"), 1)
        yield ReplyMedia(_segment(3.0, None), 2)  # on the live stream: not paced here
        yield ReplyMedia(_segment(1.0, "c.mp4"), 3)

    out = list(stream_paced(events, clock=lambda: now[0], sleep=sleep))
    assert [type(e).__name__ for e in out] == ["ReplySentence"] + ["ReplyMedia"] * 4
    assert slept == [pytest.approx(2.0), pytest.approx(1.0)]


def _segment(seconds: float, video: str | None):
    from pathlib import Path

    from avatar.motion.clip import MotionClip, Role
    from avatar.pipeline import Segment
    from emotion import EmotionState

    return Segment(Role.SPEAKING, MotionClip.still(int(seconds * 25)), EmotionState.neutral(),
                   video=Path(video) if video else None)


def test_stream_paced_reraises_and_times_out():
    def bad():
        raise ValueError("boom")
        yield

    with pytest.raises(ValueError, match="boom"):
        list(stream_paced(bad))

    def stuck():
        import time

        time.sleep(1.0)
        yield ReplySentence("late", 0)

    with pytest.raises(TurnTimeout):
        list(stream_paced(stuck, timeout_s=0.05))


@pytest.mark.parametrize("host,user,pw,ok", [
    ("127.0.0.1", "", "", True), ("localhost", "", "", True), ("0.0.0.0", "", "", False),
    ("0.0.0.0", "me", "secret", True), ("127.0.0.1", "me", "", False),
])
def test_check_server(host, user, pw, ok):
    server = ServerSettings(host=host, username=user, password=pw)
    if ok:
        auth = check_server(server)
        assert auth == ((user, pw) if pw else None)
    else:
        with pytest.raises(ServeError):
            check_server(server)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    atomic_write_text(target, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temporary left behind


def test_tree_layout_and_figures(ctx):
    conv = ctx.open_or_start(None)
    talk(conv, "hello")
    for _ in conv.regenerate():
        pass
    pos = tree_layout(conv.tree)
    root = conv.tree.root
    kids = conv.tree.children(conv.tree.children(root.id)[0].id)
    assert pos[root.id][1] == 0 and pos[kids[0].id][1] == -2
    assert pos[kids[0].id][0] != pos[kids[1].id][0]  # sibling replies side by side
    assert draw_tree(conv.tree, conv.current).axes
    users = [t for t in conv.path() if t.speaker is Speaker.USER]
    assert users and draw_timeline(conv.path()).axes


def test_transcribe_refuses_unusable_audio_and_fills_the_box(ctx, tmp_path):
    import gradio as gr
    import numpy as np
    import soundfile as sf

    from app.ui.chat_tab import _Handlers
    from app.ui.context import Lazy
    from tests.e2e.fake_media import FakeASR

    ctx.asr = Lazy(FakeASR)
    h = _Handlers(ctx)
    with pytest.raises(gr.Error, match="no audio"):
        h.transcribe(None)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.int16), 16000)
    with pytest.raises(gr.Error, match="too short or silent"):
        h.transcribe(str(silent))
    tone = (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([tone, tone], axis=1), 16000, subtype="PCM_16")
    assert h.transcribe(str(stereo)) == ("hello from the microphone", "", None)  # recorder cleared


def test_regenerate_after_a_failed_reply_answers_the_kept_message(ctx):
    from app.ui.chat_tab import _Handlers

    from app.access import new_token

    llm = FakeLLM(fail=True)
    ctx.services.llm = llm
    owner = new_token()
    conv = ctx.open_or_start(None, owner=owner)
    h = _Handlers(ctx)
    list(h.send("Are you there?", conv, owner))
    assert conv.tree.get(conv.current).speaker is Speaker.USER  # kept, unanswered
    llm.fail = False
    list(h.regenerate(conv, owner))
    path = conv.path()
    assert [t.speaker for t in path[-2:]] == [Speaker.USER, Speaker.AVATAR]
    assert path[-2].text == "Are you there?" and len(conv.tree.branches()) == 1


def test_export_reports_progress_and_offers_the_files(ctx, tmp_path, monkeypatch):
    import sys
    import types
    from dataclasses import dataclass

    from app.ui.tree_tab import export

    conv = ctx.open_or_start(None)
    talk(conv, "export me")
    calls = []

    @dataclass
    class Result:
        mp4: Path
        srt: Path
        json: Path
        csv: Path | None

    def export_path(settings, conversation_id, out_dir, node_id=None, progress=None, pipeline=None, video=True):
        progress(0.5, "rendering")
        out_dir.mkdir(parents=True)
        files = [out_dir / n for n in ("c.mp4", "c.srt", "c.json")]
        for f in files:
            f.write_text("x")
        calls.append((conversation_id, node_id))
        return Result(*files, None)

    monkeypatch.setitem(sys.modules, "app.export", types.SimpleNamespace(export_path=export_path))
    seen = []
    paths, status = export(ctx, conv, lambda fraction, desc="": seen.append((fraction, desc)))
    assert calls == [(conv.id, conv.current)] and seen == [(0.5, "rendering")]
    assert [Path(p).name for p in paths] == ["c.mp4", "c.srt", "c.json"] and "exported 3 files" in status


def test_export_without_the_export_module_says_so(ctx, monkeypatch):
    import sys

    from app.ui.tree_tab import export

    monkeypatch.setitem(sys.modules, "app.export", None)  # import fails
    conv = ctx.open_or_start(None)
    files, status = export(ctx, conv, lambda *a, **k: None)
    assert files is None and "not available yet" in status


def test_launch_options_never_serve_the_conversation_database(tmp_path):
    from app.ui.server import launch_options

    settings = Settings(data_dir=tmp_path)
    opts = launch_options(settings)
    assert str(settings.db_path) in opts["blocked_paths"]
    assert all(not Path(settings.db_path).is_relative_to(p) for p in opts["allowed_paths"])


def test_the_queue_polls_every_10_ms_when_idle_not_every_1_ms(tmp_path):
    """gradio's queue polls its empty queue every 1 ms (about 900 wake-ups a second); the app
    sets it to QUEUE_IDLE_POLL_S through a private attribute, so a gradio that renames it fails here."""
    import gradio as gr

    from app.ui.server import QUEUE_IDLE_POLL_S, QUEUE_PROGRESS_POLL_S, configure_queue

    with gr.Blocks() as demo:
        gr.Textbox()
    assert gr.Blocks().queue()._queue.sleep_when_free < QUEUE_IDLE_POLL_S  # gradio's own: what is changed
    queue = configure_queue(demo, Settings(data_dir=tmp_path))._queue
    assert queue.sleep_when_free == QUEUE_IDLE_POLL_S
    assert queue.progress_update_sleep_when_free == QUEUE_PROGRESS_POLL_S


def test_push_to_talk_keeps_the_recording_as_the_turns_voice(ctx):
    import numpy as np
    import soundfile as sf

    from app.ui.chat_tab import _Handlers

    ctx.services.data_dir = ctx.settings.data_dir
    from tests.e2e.fake_media import FakeASR
    from app.ui.context import Lazy

    ctx.asr = Lazy(FakeASR)
    tone = (np.sin(np.arange(16000) / 5) * 0.25).astype(np.float32)
    wav = ctx.settings.data_dir / "rec.wav"
    sf.write(wav, np.stack([tone, tone], axis=1), 16000)
    h = _Handlers(ctx)
    text, _, cleared, pcm = h.transcribe_voice(str(wav))
    assert cleared is None and len(pcm) == 16000
    conv = list(h.send_spoken(text, pcm, None))[-1][0]
    user = conv.path()[1]
    assert user.text == text and user.media.audio.endswith(f"{user.id}/voice.wav")
    back, sr = sf.read(ctx.settings.data_dir / user.media.audio, dtype="float32")
    assert sr == 16000 and np.abs(back - tone).max() < 1e-3


def test_a_reopened_conversation_shows_its_last_reply_video(ctx):
    import sqlite3

    from app.ui.chat_tab import _Handlers
    from dialogue.turns import TurnMedia

    conv = ctx.open_or_start(None)
    talk(conv, "hello")
    reply = conv.tree.get(conv.current)
    folder = ctx.settings.data_dir / "media" / conv.id / reply.id
    folder.mkdir(parents=True)
    (folder / "000-0.mp4").write_bytes(b"x")
    h = _Handlers(ctx)
    # an old row naming only the folder, then a TurnMedia with its segments
    for media in (TurnMedia(dir=f"media/{conv.id}/{reply.id}"),
                  TurnMedia(dir=f"media/{conv.id}/{reply.id}", segments=(f"media/{conv.id}/{reply.id}/000-0.mp4",))):
        with sqlite3.connect(ctx.settings.db_path) as raw:
            raw.execute("UPDATE turns SET media = ? WHERE id = ?", (media.model_dump_json(), reply.id))
        raw.close()
        video = h.show(ctx.open(conv.id))[2]
        assert getattr(video, "value", None) is not None
        assert "000-0.mp4" in str(video.value)


class FollowingHooks:
    """The live hooks' stand-in: records the drafters the chat gives the page's live session."""

    def __init__(self):
        self.follows = []

    def follow(self, request, drafter, history=True):
        self.follows.append((drafter, history))

    def turn_sink(self, request, persona):
        return None


def test_the_page_s_live_session_prefills_the_conversation_the_chat_shows(ctx):
    from app.access import new_token
    from app.ui.chat_tab import _Handlers
    from tests.fakes import PrefillLLM

    ctx.services.llm = llm = PrefillLLM()
    ctx.live = hooks = FollowingHooks()
    owner = new_token()
    h = _Handlers(ctx)
    h.controls(None, owner)  # a fresh page: the default persona's greeting is the path
    drafter, history = hooks.follows[-1]
    assert history and drafter("Hello") is not None
    assert [t.text for t in llm.prefills[-1][1]][-1] == "Hello"
    conv = list(h.send("Hello", None, owner))[-1][0]
    assert hooks.follows[-1][1] is False  # set as the turn starts: nothing prefilled then
    h.controls(conv, owner)  # after the turn
    drafter, history = hooks.follows[-1]
    assert drafter("How are") is not None
    assert [t.text for t in llm.prefills[-1][1]] == [t.text for t in conv.path()] + ["How are"]
    with ctx.turn_lock(conv.id):  # a turn runs: its conversation is not read meanwhile
        assert drafter("How are you") is None


def test_a_prefill_holds_the_turn_lock_only_while_it_reads_the_prompt(ctx):
    import threading

    from app.access import new_token
    from app.ui.chat_tab import _Handlers
    from tests.fakes import PrefillLLM

    class HeldPrefill(PrefillLLM):
        """Its prefill waits for `release`, as the model evaluating a prompt."""

        def __init__(self):
            super().__init__()
            self.evaluating, self.release = threading.Event(), threading.Event()

        def prefill(self, persona, path, cues, tag_ahead=True):
            self.evaluating.set()
            assert self.release.wait(30)
            return super().prefill(persona, path, cues, tag_ahead)

    ctx.services.llm = llm = HeldPrefill()
    ctx.live = hooks = FollowingHooks()
    owner = new_token()
    h = _Handlers(ctx)
    llm.release.set()
    conv = list(h.send("Hello", None, owner))[-1][0]
    h.controls(conv, owner)
    drafter, _ = hooks.follows[-1]
    llm.release.clear()
    llm.evaluating.clear()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(drafter("How are you")))
    worker.start()
    assert llm.evaluating.wait(30)  # the model evaluates the draft's prompt ...
    lock = ctx.turn_lock(conv.id)
    assert lock.acquire(blocking=False)  # ... and a turn may begin meanwhile
    lock.release()
    llm.release.set()
    worker.join(30)
    assert result == [{"prompt_n": 7, "cache_n": 100}]
    # the message's feeling (a model reads it) is read before the lock is taken too
    held_while_read = []
    ctx.services.feeling_of = lambda text: held_while_read.append(lock.locked()) or EmotionState.of("sad", 0.6)
    assert drafter("I lost my keys") is not None
    assert held_while_read == [False] and llm.prefills[-1][1][-1].emotion.label.value == "sad"


def test_a_bubble_names_each_label_its_sentences_were_said_with_in_order():
    from dialogue.turns import AvatarRole, SentenceEmotion, Turn

    sad = EmotionState.of("sad", 0.6)
    arc = [SentenceEmotion(text="Oh no.", emotion=sad),
           SentenceEmotion(text="Gross.", emotion=EmotionState.of("disgusted", 0.6)),
           SentenceEmotion(text="Want to talk?", emotion=EmotionState.of("disgusted", 0.4))]
    turn = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Oh no. Gross. Want to talk?",
                emotion=sad, arc=arc)
    footer = feeling_footer(turn)
    assert footer == (f'<span class="wc-feeling">{emotion_word(Emotion.SAD)} → {emotion_word(Emotion.DISGUSTED)}'
                      '</span>')
    softer = turn.model_copy(update={"arc": (arc[0], arc[0].model_copy(update={"emotion": sad.scaled(0.7)}))})
    assert feeling_footer(softer).count("wc-emotion") == 1  # a softer sentence is the same feeling
