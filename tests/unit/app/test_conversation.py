"""The Conversation orchestrator with a scripted LLM and a real SQLite store."""

from __future__ import annotations

import pytest

from app.conversation import Conversation, Services
from app.turn_events import InputError, ReplyMedia, ReplySaved, ReplySentence, TurnFailed, UserTurnSaved
from app.personas import get_persona
from dialogue.store import ConversationStore
from dialogue.turns import Speaker
from emotion import EmotionState
from tests.fakes import FakeLLM, PrefillLLM, fake_emotion_of


class FakeAvatar:
    def __init__(self):
        self.calls = []

    def speak_sentence(self, sentence, emotion, persona, continuity, target):
        from pathlib import Path

        from avatar.motion.clip import MotionClip, Role
        from avatar.pipeline import Segment

        self.calls.append((sentence, target.folder, target.stem, target.first))
        motion = MotionClip.still(25 + len(self.calls), role=Role.SPEAKING)
        continuity.remember(motion)
        yield Segment(Role.SPEAKING, motion, emotion, text=sentence,
                      video=Path(f"/tmp/{Path(target.folder).name}-{int(target.stem)}.mp4"))

    def media_dir(self, conversation_id, turn_id):
        return f"media/{conversation_id}/{turn_id}"


@pytest.fixture
def services(tmp_path):
    store = ConversationStore(tmp_path / "db.sqlite3")
    yield Services(store=store, llm=FakeLLM([("Oh no. I am sorry to hear that.", "sad", 0.6),
                                            ("That is great news! Tell me more.", "happy", 0.8)]),
                   emotion_of=fake_emotion_of, max_message_chars=50)
    store.close()


@pytest.fixture
def persona():
    return get_persona("ada", None)


def test_send_streams_sentences_then_saves_reply(services, persona):
    conv = Conversation.start(services, persona)
    events = list(conv.send("I feel sad today"))
    assert isinstance(events[0], UserTurnSaved)
    assert events[0].turn.emotion.label.value == "sad"
    sentences = [e.text for e in events if isinstance(e, ReplySentence)]
    assert sentences == ["Oh no.", "I am sorry to hear that."]
    saved = events[-1]
    assert isinstance(saved, ReplySaved) and saved.turn.emotion.label.value == "sad"
    assert [t.speaker for t in conv.path()] == [Speaker.AVATAR, Speaker.USER, Speaker.AVATAR]
    assert conv.current == saved.turn.id


def test_llm_gets_path_and_cues_of_the_user_turn(services, persona):
    conv = Conversation.start(services, persona)
    list(conv.send("I feel sad today"))
    _, path, cues = services.llm.calls[-1]
    assert path[-1].text == "I feel sad today"
    assert cues.user_current.label.value == "sad"


def test_regenerate_makes_a_sibling_and_survives_reopen(services, persona):
    conv = Conversation.start(services, persona)
    first = [e for e in conv.send("hello") if isinstance(e, ReplySaved)][0].turn
    second = [e for e in conv.regenerate() if isinstance(e, ReplySaved)][0].turn
    assert second.parent == first.parent and second.id != first.id
    assert {t.id for t in conv.tree.siblings(second.id)} == {first.id}
    assert len(conv.tree.branches()) == 2
    reopened = Conversation.open(services, conv.id, persona)
    assert len(reopened.tree.branches()) == 2
    assert reopened.current == second.id


def test_edit_branches_from_the_edited_turns_parent(services, persona):
    conv = Conversation.start(services, persona)
    list(conv.send("hello"))
    user = conv.path()[1]
    list(conv.edit(user.id, "this is great"))
    new_user = conv.path()[1]
    assert new_user.id != user.id and new_user.parent == user.parent and new_user.text == "this is great"
    conv.switch(user.id)
    assert conv.path()[1].id == user.id


def test_llm_failure_keeps_the_user_turn(services, persona):
    services.llm = FakeLLM(fail=True)
    conv = Conversation.start(services, persona)
    events = list(conv.send("are you there?"))
    assert isinstance(events[-1], TurnFailed) and "Cannot reach" in events[-1].message
    reopened = Conversation.open(services, conv.id, persona)
    assert reopened.path()[-1].text == "are you there?"


@pytest.mark.parametrize("text", ["", "   ", "x" * 51])
def test_bad_input_is_refused_and_nothing_saved(services, persona, text):
    conv = Conversation.start(services, persona)
    with pytest.raises(InputError):
        list(conv.send(text))
    assert len(Conversation.open(services, conv.id, persona).tree.turns()) == 1


def test_media_per_sentence_filed_under_the_reply(services, persona):
    services.avatar = FakeAvatar()
    conv = Conversation.start(services, persona)
    events = list(conv.send("hello"))
    media = [e for e in events if isinstance(e, ReplyMedia)]
    saved = events[-1].turn
    assert [m.index for m in media] == [0, 1]
    assert all(call[1] == saved.media.dir for call in services.avatar.calls)
    assert [(c[2], c[3]) for c in services.avatar.calls] == [("000", True), ("001", False)]
    assert saved.media.dir.endswith(saved.id)
    assert saved.media.segments == (f"/tmp/{saved.id}-0.mp4", f"/tmp/{saved.id}-1.mp4")  # outside the data dir: as given
    # the conversation owns the avatar's continuity: the last sentence's motion is remembered
    assert conv.continuity.tail is not None and conv.continuity.tail.num_frames == 10


def test_sentences_go_to_the_live_stream_when_one_is_attached(services, persona):
    services.avatar = FakeAvatar()
    conv = Conversation.start(services, persona)
    live = object()
    conv.live = live
    seen = []
    services.avatar.speak_sentence = lambda s, e, p, c, target: seen.append(target.live) or iter(())
    list(conv.send("hello"))
    assert seen == [live, live]


class BargedInSink:
    """A live stream's turn sink the person talks over while its first sentence is said."""

    cancelled = False

    def put(self, segment):
        return segment


class ClosableLLM(FakeLLM):
    """A FakeLLM that records whether its reply stream was closed before it ended."""

    closed_early = False

    def stream_reply(self, persona, path, cues):
        ended = False
        try:
            yield from super().stream_reply(persona, path, cues)
            ended = True
        finally:
            self.closed_early = not ended


def test_a_reply_spoken_over_stops_and_is_kept_as_far_as_it_was_said(services, persona):
    services.llm = llm = ClosableLLM([("Oh no. I am sorry to hear that. Do you want to talk about it?", "sad", 0.6)])
    services.avatar = FakeAvatar()
    speak = services.avatar.speak_sentence

    def spoken_over(sentence, emotion, persona, continuity, target):
        yield from speak(sentence, emotion, persona, continuity, target)
        target.live.cancelled = True  # a barge-in while the first sentence plays

    services.avatar.speak_sentence = spoken_over
    conv = Conversation.start(services, persona)
    conv.live = BargedInSink()
    events = list(conv.send("my cat is ill"))
    assert [e.text for e in events if isinstance(e, ReplySentence)] == ["Oh no."]
    assert [c[0] for c in services.avatar.calls] == ["Oh no."]  # no voice made for the rest
    assert llm.closed_early  # the model stopped writing it
    saved = events[-1]
    assert isinstance(saved, ReplySaved) and saved.turn.text == "Oh no." and "spoke over" in saved.notice
    assert saved.turn.emotion.label.value == "sad" and [a.text for a in saved.turn.arc] == ["Oh no."]
    assert Conversation.open(services, conv.id, persona).path()[-1].text == "Oh no."  # what the next reply sees


def test_a_reply_made_ahead_and_spoken_over_is_kept_as_far_as_it_was_heard(services, persona):
    services.llm = FakeLLM([("Oh no. I am sorry to hear that. Do you want to talk about it?", "sad", 0.6)])
    services.avatar = FakeAvatar()
    conv = Conversation.start(services, persona)
    made = []

    class HeardFirstOnly(BargedInSink):
        """All three sentences were voiced ahead; the person spoke over the first as it played."""

        def unheard(self):
            return made[1:]

    speak = services.avatar.speak_sentence

    def voiced(sentence, emotion, persona, continuity, target):
        for segment in speak(sentence, emotion, persona, continuity, target):
            made.append(segment)
            yield segment

    services.avatar.speak_sentence = voiced
    conv.live = HeardFirstOnly()
    events = []
    for event in conv.send("my cat is ill"):
        events.append(event)
        if isinstance(event, ReplyMedia) and event.index == 2:
            conv.live.cancelled = True  # the barge-in comes once all three were made
    saved = events[-1]
    assert len(made) == 3 and isinstance(saved, ReplySaved)
    assert saved.turn.text == "Oh no." and [a.text for a in saved.turn.arc] == ["Oh no."]
    assert saved.turn.media.segments == (str(made[0].video),)


def test_a_reply_cancelled_before_its_first_sentence_keeps_the_message_and_says_nothing(services, persona):
    services.avatar = FakeAvatar()
    conv = Conversation.start(services, persona)
    conv.live = BargedInSink()
    conv.live.cancelled = True  # the person went on speaking while the avatar thought
    events = list(conv.send("I was thinking"))
    assert services.avatar.calls == [] and not any(isinstance(e, (ReplySentence, ReplySaved)) for e in events)
    failed = events[-1]
    assert isinstance(failed, TurnFailed) and failed.interrupted
    assert Conversation.open(services, conv.id, persona).path()[-1].text == "I was thinking"  # kept


class FileAvatar(FakeAvatar):
    """Writes each sentence's segment under the data dir, as the real pipeline does."""

    def __init__(self, data_dir):
        super().__init__()
        self.data_dir = data_dir

    def speak_sentence(self, sentence, emotion, persona, continuity, target):
        from avatar.motion.clip import MotionClip, Role
        from avatar.pipeline import Segment

        folder = self.data_dir / target.folder
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(2 if target.first else 1):
            out = folder / f"{target.stem}-{part}.mp4"
            out.write_bytes(b"mp4")
            yield Segment(Role.SPEAKING, MotionClip.still(25), emotion, video=out)


@pytest.fixture
def media_services(services, tmp_path):
    services.data_dir = tmp_path / "data"
    services.avatar = FileAvatar(services.data_dir)
    return services


def test_a_reopened_conversation_finds_its_video_segments_in_order(media_services, persona):
    conv = Conversation.start(media_services, persona)
    saved = list(conv.send("hello"))[-1].turn
    reopened = Conversation.open(media_services, conv.id, persona).tree.get(saved.id)
    assert reopened.media.segments == tuple(f"media/{conv.id}/{saved.id}/{n}.mp4" for n in ("000-0", "000-1", "001-0"))
    assert all((media_services.data_dir / s).is_file() for s in reopened.media.segments)


def test_a_spoken_turn_keeps_the_persons_voice_beside_its_media(media_services, persona):
    import numpy as np
    import soundfile as sf

    from app.turn_events import RecordedVoice

    pcm = (0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 48000)).astype(np.float32)
    conv = Conversation.start(media_services, persona)
    user = next(e for e in conv.send("hello there", voice=RecordedVoice(pcm, 48000)) if isinstance(e, UserTurnSaved)).turn
    stored = Conversation.open(media_services, conv.id, persona).tree.get(user.id).media
    from app.access import private_folder

    folder = f"media/{private_folder(media_services.data_dir, conv.id)}/{user.id}"  # not derivable from the id
    assert stored.audio == f"{folder}/voice.wav" and stored.dir == folder
    back, sr = sf.read(media_services.data_dir / stored.audio, dtype="float32")
    assert sr == 48000 and len(back) == len(pcm) and np.abs(back - pcm).max() < 1e-3
    with pytest.raises(ValueError):
        RecordedVoice(np.zeros((10, 2), np.float32), 16000)


def test_deleting_a_conversation_removes_its_media(media_services, persona):
    import numpy as np

    from app.conversation import delete_conversation
    from app.turn_events import RecordedVoice
    from dialogue.store import StoreError

    keep = Conversation.start(media_services, persona)
    list(keep.send("hello"))
    conv = Conversation.start(media_services, persona)
    list(conv.send("hello", voice=RecordedVoice(np.zeros(1600, np.float32), 16000)))
    from app.access import private_folder

    data = media_services.data_dir
    voice = data / conv.path()[1].media.audio
    old_style = data / "media" / conv.id  # the fake avatar files its videos without the key
    export = data / "exports" / private_folder(data, conv.id) / "node"
    export.mkdir(parents=True)
    assert voice.is_file() and old_style.is_dir() and voice.parent.parent.name == private_folder(data, conv.id)
    delete_conversation(media_services.store, data, conv.id)
    assert not voice.parent.parent.exists() and not old_style.exists() and not export.parent.exists()
    assert (data / "media" / keep.id).is_dir()
    with pytest.raises(StoreError):
        media_services.store.info(conv.id)


class MotionAvatar(FakeAvatar):
    """Runs the real teacher motion for each sentence with the persona's profile and keeps the
    emotion and the mean expression it was given (what the face would show)."""

    def __init__(self):
        super().__init__()
        self.faces = []

    def speak_sentence(self, sentence, emotion, persona, continuity, target):
        from avatar.motion.base import MotionRequest
        from avatar.motion.clip import ARKIT_INDEX, Role
        from avatar.motion.teacher import teacher_motion
        from emotion.builtin import get_profile

        clip = teacher_motion(MotionRequest(role=Role.SPEAKING, emotion=emotion, duration_s=1.5, seed=len(self.faces),
                                            profile=get_profile(persona.emotion_profile)))
        mean = clip.expression[10:].mean(0)
        self.faces.append((emotion, {k: float(mean[ARKIT_INDEX[k]]) for k in
                                     ("mouthFrownLeft", "mouthSmileLeft", "mouthStretchLeft")}))
        yield from super().speak_sentence(sentence, emotion, persona, continuity, target)


def test_a_turn_saved_as_sad_renders_sad_coefficients_in_every_sentence(services, persona):
    services.avatar = MotionAvatar()
    services.llm = FakeLLM([("That is great. It makes me happy. Great, really.", "sad", 0.5)])
    conv = Conversation.start(services, persona)
    saved = [e for e in conv.send("hello") if isinstance(e, ReplySaved)][0].turn
    assert saved.emotion == EmotionState.of("sad", 0.5)
    assert len(services.avatar.faces) == 3
    assert [e.emotion for e in saved.arc] == [saved.emotion] * 3
    for emotion, face in services.avatar.faces:  # the words say "great", the face stays sad
        assert emotion == saved.emotion
        assert face["mouthFrownLeft"] > 0.3 and face["mouthStretchLeft"] > 0.2
        assert face["mouthSmileLeft"] < 0.05


class StructuredLLM(FakeLLM):
    """A backend that streams a raw tagged reply through the real assembler (dialogue.llm.structured),
    with the real text recognizer reading each sentence."""

    def __init__(self, raw: str):
        super().__init__()
        self.raw = raw

    def stream_reply(self, persona, path, cues):
        from dialogue.llm.structured import stream_structured
        from emotion import recognize

        yield from stream_structured([self.raw[i:i + 3] for i in range(0, len(self.raw), 3)], persona,
                                     emotion_of=recognize)


def test_each_sentence_is_said_and_saved_with_its_emotion_on_the_arc(services, persona):
    from emotion.arc import SOFTEN

    services.avatar = MotionAvatar()
    services.llm = StructuredLLM("[sad 0.6] Oh no, I am so sorry. Do you want to talk about it?")
    conv = Conversation.start(services, persona)
    saved = [e for e in conv.send("my cat died") if isinstance(e, ReplySaved)][0].turn
    sad = EmotionState.of("sad", 0.6)
    assert saved.emotion == sad
    assert [(e.text, e.emotion) for e in saved.arc] == [("Oh no, I am so sorry.", sad),
                                                        ("Do you want to talk about it?", sad.scaled(SOFTEN))]
    # voice and face got exactly the record's emotion, sentence by sentence: sad, then softer
    assert [emotion for emotion, _ in services.avatar.faces] == [e.emotion for e in saved.arc]
    (_, first), (_, second) = services.avatar.faces
    assert first["mouthFrownLeft"] > second["mouthFrownLeft"] > 0.2
    assert Conversation.open(services, conv.id, persona).tree.get(saved.id).arc == saved.arc


class SilentTagLLM(FakeLLM):
    """A backend whose chunks carry no emotion (an older or third-party backend)."""

    def stream_reply(self, persona, path, cues):
        for chunk in super().stream_reply(persona, path, cues):
            yield chunk.model_copy(update={"emotion": None, "emotion_source": None}) if chunk.sentence else \
                chunk.model_copy(update={"final": chunk.final.model_copy(update={"emotion_source": "text"})})


def test_emotion_settled_once_when_the_backend_sends_none(services, persona):
    services.avatar = MotionAvatar()
    services.llm = SilentTagLLM([("I am sad for you. But this is great news too.", "happy", 0.8)])
    conv = Conversation.start(services, persona)
    saved = [e for e in conv.send("hello") if isinstance(e, ReplySaved)][0].turn
    spoken = {emotion for emotion, _ in services.avatar.faces}
    assert spoken == {saved.emotion} and saved.emotion.label.value == "sad"


class NoticeLLM(FakeLLM):
    """A backend whose reply carries a notice (as the embedded model's after a restart)."""

    def stream_reply(self, persona, path, cues):
        for chunk in super().stream_reply(persona, path, cues):
            if chunk.final is not None:
                chunk = chunk.model_copy(update={"final": chunk.final.model_copy(
                    update={"notice": "The embedded model had stopped; it was restarted."})})
            yield chunk


def test_reply_notice_reaches_the_saved_event(tmp_path, persona):
    store = ConversationStore(tmp_path / "db.sqlite3")
    try:
        services = Services(store=store, llm=NoticeLLM(), emotion_of=fake_emotion_of)
        conv = Conversation.start(services, persona)
        saved = list(conv.send("hello"))[-1]
        assert isinstance(saved, ReplySaved) and "restarted" in saved.notice
        plain = Services(store=store, llm=FakeLLM(), emotion_of=fake_emotion_of)
        assert list(Conversation.start(plain, persona).send("hello"))[-1].notice == ""
    finally:
        store.close()


def prompt(call):
    """The messages the embedded model would be sent for a (persona, path, cues) call."""
    from dialogue.llm.embedded import style_for
    from dialogue.llm.models import model_spec

    return style_for(model_spec("qwen2.5-coder-1.5b")).messages(*call)


def test_a_prefilled_message_gives_the_very_prompt_its_reply_is_asked_with(services, persona):
    services.llm = llm = PrefillLLM([("Oh no. I am sorry to hear that.", "sad", 0.6)])
    conv = Conversation.start(services, persona)
    list(conv.send("I feel sad today"))
    assert conv.prefill("I am angry about it") == {"prompt_n": 7, "cache_n": 100}
    assert len(conv.path()) == 3  # a prefill saves nothing
    list(conv.send("I am angry about it"))  # sent as it was prefilled: the whole prompt is the same
    assert prompt(llm.prefills[-1]) == prompt(llm.calls[-1])

    conv.prefill("I am happy")  # the transcript so far; the message sent goes on
    list(conv.send("I am happy again, so happy"))
    ahead, asked = prompt(llm.prefills[-1]), prompt(llm.calls[-1])
    last_user = max(i for i, m in enumerate(asked) if m["role"] == "user")
    assert ahead[:last_user] == asked[:last_user]  # all before the message: the same bytes, cached
    assert asked[last_user]["content"].startswith(ahead[last_user]["content"])

    assert conv.prefill("  ") is not None  # the path so far alone (after a reply)
    assert [t.text for t in llm.prefills[-1][1]] == [t.text for t in conv.path()]
    assert conv.prefill("x" * 51) is None  # too long to be sent


def test_a_conversation_not_started_yet_prefills_the_greeting_path(services, persona):
    from app.conversation import prefill_reply

    services.llm = llm = PrefillLLM()
    assert prefill_reply(services, persona, None, None, "Hello there") is not None
    conv = Conversation.start(services, persona)
    list(conv.send("Hello there"))
    assert prompt(llm.prefills[-1]) == prompt(llm.calls[-1])
    services.llm = FakeLLM()  # a backend without a prompt cache: nothing to do
    assert prefill_reply(services, persona, None, None, "Hello there") is None


def test_the_persons_messages_are_read_by_the_feeling_reader(services, persona):
    """Services.feeling_of (the trained classifier in the app) reads the person's turns; the
    avatar's own sentences stay with emotion_of."""
    from emotion import Emotion

    read = []

    def feeling_of(text):
        read.append(text)
        return EmotionState.of(Emotion.FEARFUL, 0.7)

    services.feeling_of = feeling_of
    conv = Conversation.start(services, persona)
    events = list(conv.send("The results come tomorrow"))
    assert events[0].turn.emotion.label is Emotion.FEARFUL
    assert read == ["The results come tomorrow"]


def test_a_message_prefilled_as_it_was_sent_has_its_feeling_read_once(services, persona):
    read = []

    def feeling_of(text):
        read.append(text)
        return EmotionState.of("sad", 0.6)

    services.llm = PrefillLLM([("Oh no. I am sorry to hear that.", "sad", 0.6)])
    services.feeling_of = feeling_of
    conv = Conversation.start(services, persona)
    conv.prefill("I lost my keys")  # while it was typed
    list(conv.send("I lost my keys"))
    assert read == ["I lost my keys"] and conv.path()[-2].emotion.label.value == "sad"
    services.feeling_of = lambda text: EmotionState.of("happy", 0.6)  # another reader: read anew
    assert services.person_feeling("I lost my keys").label.value == "happy"
