"""The LLM and the avatar bounded by their own slots and timeouts (issue 13, item 4)."""

from __future__ import annotations

import threading

import pytest

from app.limits import BoundedLLM, BoundedSpeaker, BusyError, Slots, bounded
from dialogue.llm.base import LLMError, PersonaBrief
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import EmotionState
from tests.fakes import FakeLLM, HangingLLM

BRIEF = PersonaBrief(name="Ada", description="", system_prompt="Be kind.")


def path(text: str) -> list[Turn]:
    return [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text=text, emotion=EmotionState.neutral())]


def reply(llm, text: str) -> list:
    return list(llm.stream_reply(BRIEF, path(text), EmotionCues()))


def test_a_hung_call_fails_at_the_stated_time_without_a_retry_and_frees_its_slot():
    fake = HangingLLM()
    llm = BoundedLLM(fake, Slots("The language model", 1, wait_s=0.05), timeout_s=0.2)
    with pytest.raises(LLMError, match=r"did not answer within 0\.2 s"):
        reply(llm, "please hang")
    assert fake.entered.wait(10)  # the call did start (its thread may start late on a loaded machine)
    assert fake.hanging == 1 and fake.finished == 0  # the one call still hangs: the turn did not wait for it
    assert reply(llm, "hello")[-1].final is not None  # its slot was given back
    fake.release.set()


def test_a_caller_without_a_slot_is_told_the_model_is_busy():
    fake = HangingLLM()
    llm = BoundedLLM(fake, Slots("The language model", 1, wait_s=0.05), timeout_s=60)
    first = llm.stream_reply(BRIEF, path("please hang"), EmotionCues())
    worker = threading.Thread(target=lambda: list(first))
    worker.start()
    assert fake.entered.wait(10)
    with pytest.raises(BusyError, match=r"The language model is busy with other conversations \(waited 0\.05 s\)"):
        reply(llm, "hello")
    fake.release.set()
    worker.join(10)
    assert not worker.is_alive() and reply(llm, "hello")[-1].final is not None


def test_errors_pass_through_and_other_attributes_are_the_wrapped_ones():
    fake = FakeLLM(fail=True)
    fake.warm_up = lambda: "warm"
    llm = BoundedLLM(fake, Slots("The language model", 1, wait_s=0.05), timeout_s=5)
    with pytest.raises(LLMError, match="Cannot reach"):
        reply(llm, "hi")
    with pytest.raises(LLMError, match="Cannot reach"):  # the slot came back after the error
        reply(llm, "hi")
    assert llm.warm_up() == "warm"


def test_renders_take_a_slot():
    class Avatar:
        def __init__(self):
            self.seen = []

        def speak_sentence(self, sentence):
            self.seen.append(slots._sem._value)  # slots left while rendering
            yield sentence

        def media_dir(self, cid, tid):
            return f"media/{cid}/{tid}"

    slots = Slots("The avatar renderer", 1, wait_s=0.05)
    avatar = Avatar()
    speaker = BoundedSpeaker(avatar, slots)
    assert list(speaker.speak_sentence("hi")) == ["hi"] and avatar.seen == [0]
    assert speaker.media_dir("c", "t") == "media/c/t"
    with slots.hold(), pytest.raises(BusyError, match="avatar renderer is busy"):
        list(speaker.speak_sentence("again"))


def test_bounded_services_use_the_settings():
    from app.conversation import Services
    from app.settings import Settings

    settings = Settings(llm=LLMSettings(timeout_s=7), server={"llm_slots": 3, "busy_wait_s": 2})
    services = bounded(Services(store=None, llm=FakeLLM(), emotion_of=None), settings)
    assert services.llm.timeout_s == 7 and services.llm.slots.limit == 3 and services.llm.slots.wait_s == 2
    assert services.avatar is None


def test_each_attempt_gets_its_share_of_the_stated_timeout():
    assert LLMSettings(timeout_s=60, max_retries=1).attempt_timeout_s == 30
    assert LLMSettings(timeout_s=60, max_retries=0).attempt_timeout_s == 60
