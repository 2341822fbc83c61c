from types import SimpleNamespace

import httpx2
import openai
import pytest

from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.llm.openai_backend import OpenAIChatLLM
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

PATH = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I got the job!")]
SETTINGS = LLMSettings(backend="openai", base_url="http://llm.test/v1", model="base-model", temperature=0.7,
                       max_tokens=160)


def chunk(text=None, finish=None):
    return SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=text), finish_reason=finish)])


class FakeStream:
    def __init__(self, pieces, finish="stop", fail_after=None):
        self.pieces, self.finish, self.fail_after, self.closed = pieces, finish, fail_after, False
        self.consumed = 0

    def __iter__(self):
        yield SimpleNamespace(choices=[])  # keep-alive/usage chunk without choices
        for i, p in enumerate(self.pieces):
            if self.fail_after is not None and i == self.fail_after:
                raise openai.APITimeoutError(request=httpx2.Request("POST", "http://llm.test/v1/chat/completions"))
            self.consumed += 1
            yield chunk(p)
        yield chunk(None, self.finish)

    def close(self):
        self.closed = True


class FakeClient:
    """Scripted stand-in for openai.OpenAI: records each call, returns the scripted stream."""

    def __init__(self, stream=None, error=None):
        self.calls, self.stream, self.error = [], stream, error
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return self.stream


def run(llm, persona=PersonaBrief(name="Ada")):
    out = list(llm.stream_reply(persona, PATH, EmotionCues()))
    return [c.sentence for c in out if c.sentence], out[-1].final


def test_streams_sentences_and_parses_tag():
    stream = FakeStream(["[hap", "py 0.8]\n", "Congratulations", "! That is", " huge news.", " Tell me", " more."])
    client = FakeClient(stream)
    sentences, final = run(OpenAIChatLLM(SETTINGS, client=client))
    assert sentences == ["Congratulations!", "That is huge news.", "Tell me more."]
    assert (final.emotion, final.intensity) == (Emotion.HAPPY, 0.8)
    assert stream.closed
    call = client.calls[0]
    assert call["stream"] is True and call["model"] == "base-model" and call["messages"][0]["role"] == "system"


def test_the_backend_streams_each_sentence_with_its_place_on_the_arc():
    from emotion import recognize
    from emotion.arc import SOFTEN

    stream = FakeStream(["[sad 0.6]\nOh no, I am", " so sorry.", " Do you want to", " talk about it?"])
    llm = OpenAIChatLLM(SETTINGS, emotion_of=recognize, client=FakeClient(stream))
    out = list(llm.stream_reply(PersonaBrief(name="Ada"), PATH, EmotionCues()))
    said = [(c.sentence, c.emotion) for c in out if c.sentence]
    sad = EmotionState.of("sad", 0.6)
    assert said == [("Oh no, I am so sorry.", sad), ("Do you want to talk about it?", sad.scaled(SOFTEN))]
    assert [(e.text, e.emotion) for e in out[-1].final.arc] == said


def test_persona_overrides_apply_per_call_only():
    client = FakeClient(FakeStream(["Hi."]))
    llm = OpenAIChatLLM(SETTINGS, client=client)
    run(llm, PersonaBrief(name="Pip", model="big", temperature=1.1, max_tokens=50))
    client.stream = FakeStream(["Hi."])
    run(llm)
    assert (client.calls[0]["model"], client.calls[0]["temperature"], client.calls[0]["max_tokens"]) == ("big", 1.1, 50)
    assert (client.calls[1]["model"], client.calls[1]["temperature"], client.calls[1]["max_tokens"]) == ("base-model", 0.7, 160)
    assert llm.settings == SETTINGS


def test_missing_tag_uses_emotion_of_and_truncation_drops_fragment():
    client = FakeClient(FakeStream(["Oh no. I am so sorry.", " That must be"], finish="length"))
    llm = OpenAIChatLLM(SETTINGS, emotion_of=lambda t: EmotionState.of(Emotion.SAD, 0.7), client=client)
    sentences, final = run(llm)
    assert sentences == ["Oh no.", "I am so sorry."]
    assert final.emotion is Emotion.SAD and final.intensity == pytest.approx(0.7)


def test_stops_reading_once_reply_is_complete():
    stream = FakeStream(["One. ", "Two. ", "Three. ", "User: hi. ", "Four. ", "Five. ", "Six. "])
    sentences, _ = run(OpenAIChatLLM(SETTINGS, client=FakeClient(stream)))
    assert sentences == ["One.", "Two.", "Three."] and stream.consumed < 7 and stream.closed


def test_connection_error_message():
    err = openai.APIConnectionError(request=httpx2.Request("POST", "http://llm.test/v1/chat/completions"))
    err.__cause__ = ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(LLMError, match=r"Cannot reach the LLM server at http://llm\.test/v1: connection refused"):
        run(OpenAIChatLLM(SETTINGS, client=FakeClient(error=err)))


def test_http_status_errors_are_explained():
    resp = httpx2.Response(404, request=httpx2.Request("POST", "http://llm.test/v1/chat/completions"))
    err = openai.NotFoundError("model not found", response=resp, body=None)
    with pytest.raises(LLMError, match="does not know model 'base-model'"):
        run(OpenAIChatLLM(SETTINGS, client=FakeClient(error=err)))
    resp = httpx2.Response(401, request=resp.request)
    with pytest.raises(LLMError, match="API key"):
        run(OpenAIChatLLM(SETTINGS, client=FakeClient(error=openai.AuthenticationError("no", response=resp, body=None))))


def test_timeout_during_stream_raises_llm_error():
    stream = FakeStream(["Hello there. ", "More words"], fail_after=1)
    gen = OpenAIChatLLM(SETTINGS, client=FakeClient(stream)).stream_reply(PersonaBrief(name="A"), PATH, EmotionCues())
    with pytest.raises(LLMError, match="did not answer within 60 s"):
        list(gen)
    assert stream.closed


def test_registry():
    assert isinstance(make_llm(SETTINGS), OpenAIChatLLM)
    from dialogue.llm.embedded import EmbeddedLLM

    assert isinstance(make_llm(LLMSettings(backend="embedded")), EmbeddedLLM)
    with pytest.raises(ValueError, match="known: embedded, openai"):
        make_llm(LLMSettings(backend="llamafile"))


class ScriptedClient(FakeClient):
    """Returns the scripted streams one call after another."""

    def __init__(self, streams):
        super().__init__()
        self.streams = list(streams)

    def _create(self, **kwargs):
        self.calls.append(kwargs)
        return self.streams.pop(0)


def test_companion_validation_drops_assistant_speak_and_lists():
    from dialogue.prompts import PromptStyle

    stream = FakeStream(["[sad 0.6] Oh no, I'm sorry. ", "It's important to seek professional help. ",
                         "Here are some tips:\n1. Rest\n2. Talk to friends"])
    llm = OpenAIChatLLM(SETTINGS, client=FakeClient(stream), style=PromptStyle(companion=True, max_sentences=3))
    sentences, final = run(llm)
    assert sentences == ["Oh no, I'm sorry."] and final.text == "Oh no, I'm sorry." and final.emotion is Emotion.SAD


def test_an_unusable_reply_is_asked_for_again_once():
    from dialogue.prompts import PromptStyle

    junk = FakeStream(["[neutral 0.4] As an AI language model, I cannot do that. ", "```python\nprint(1)\n```"])
    good = FakeStream(["[happy 0.6] Oh, congratulations! ", "When do you start?"])
    client = ScriptedClient([junk, good])
    llm = OpenAIChatLLM(SETTINGS, client=client, style=PromptStyle(companion=True), retry_unusable=1)
    sentences, final = run(llm)
    assert sentences == ["Oh, congratulations!", "When do you start?"] and final.emotion is Emotion.HAPPY
    assert len(client.calls) == 2 and junk.closed
    assert client.calls[1]["messages"][-1]["role"] == "system" and "friend" in client.calls[1]["messages"][-1]["content"]
    # without retries the fallback line is said
    client = ScriptedClient([FakeStream(["As an AI, I cannot feel."])])
    sentences, final = run(OpenAIChatLLM(SETTINGS, client=client, style=PromptStyle(companion=True)))
    assert final.emotion_source == "fallback" and len(client.calls) == 1


def test_the_retry_keeps_a_reply_start_written_in_the_prompt_last():
    from dialogue.prompts import PromptStyle

    style = PromptStyle(companion=True, cues_last=True, person_tag=True)
    sad = Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="My cat died.",
               emotion=EmotionState.of(Emotion.SAD, 0.8))
    client = ScriptedClient([FakeStream(["As an AI, I cannot feel."]), FakeStream([" Oh no, I'm so sorry."])])
    llm = OpenAIChatLLM(SETTINGS, client=client, style=style, retry_unusable=1)
    out = list(llm.stream_reply(PersonaBrief(name="Ada"), [sad], EmotionCues(user_current=sad.emotion)))
    retry = client.calls[1]["messages"]
    assert retry[-1] == {"role": "assistant", "content": "[sad]"} and "friend" in retry[-2]["content"]
    assert out[-1].final.text == "Oh no, I'm so sorry." and out[-1].final.emotion is Emotion.SAD


def test_the_prompt_ends_with_the_tag_the_recognizer_heard_clearly():
    from dialogue.prompts import PromptStyle

    style = PromptStyle(companion=True, cues_last=True, person_tag=True)
    heard = EmotionCues(user_current=EmotionState.of(Emotion.ANGRY, 0.8))
    client = FakeClient(FakeStream([" How unfair!"]))
    out = list(OpenAIChatLLM(SETTINGS, client=client, style=style).stream_reply(PersonaBrief(name="Ada"), PATH, heard))
    assert len(client.calls) == 1 and client.calls[0]["messages"][-1] == {"role": "assistant", "content": "[angry]"}
    assert out[-1].final.emotion is Emotion.SAD  # the avatar answers anger with concern (EMPATHY)

