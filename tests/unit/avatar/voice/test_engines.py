"""Backends with scripted fakes: the piper worker protocol and its failure handling, Coqui, registry."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from avatar.settings import TTSSettings
from avatar.voice import TTSError, VoiceSettings, make_tts
from avatar.voice.coqui import CoquiTTS
from avatar.voice.piper import PiperTTS
from emotion import EmotionState

FAKE_WORKER = r'''
import json, os, sys, time
import numpy as np
mode, state = sys.argv[1], sys.argv[2]
starts = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(starts + 1))
if mode == "slow_start":
    time.sleep(30)
out = sys.stdout.buffer
out.write(b'{"event": "ready", "sample_rate": 1000, "length_scale": 1.0}\n'); out.flush()
for line in sys.stdin.buffer:
    req = json.loads(line)
    if req.get("cmd") == "quit":
        break
    if mode == "die" or (mode == "die_first" and starts == 0):
        sys.exit(3)
    if mode == "hang":
        time.sleep(30)
    t = np.arange(300) / 1000
    pcm = (0.5 * np.sin(2 * np.pi * 100 * t) * ((t > 0.05) & (t < 0.25))).astype("<f4")
    head = {"id": req["id"], "ok": True, "sample_rate": 1000, "n_samples": 300,
            "alignments": [["^", 50], ["h", 100], ["i", 100], ["$", 50]], "ls": req["length_scale"]}
    out.write((json.dumps(head) + "\n").encode()); out.write(pcm.tobytes()); out.flush()
'''


class FakePiper(PiperTTS):
    def __init__(self, tmp_path: Path, mode: str, **kw):
        super().__init__(TTSSettings(), **kw)
        self.script = tmp_path / "worker.py"
        self.script.write_text(FAKE_WORKER)
        self.state = tmp_path / "starts"
        self.mode = mode

    def _command(self):
        return [sys.executable, str(self.script), self.mode, str(self.state)]

    @property
    def starts(self) -> int:
        return int(self.state.read_text())


NEUTRAL = EmotionState.neutral()


def test_worker_protocol_gives_audio_with_timings(tmp_path):
    tts = FakePiper(tmp_path, "ok")
    try:
        clip = tts.synthesize("Hi.", VoiceSettings(), NEUTRAL)
        assert clip.sample_rate == 1000 and clip.words[0].symbol == "Hi"
        assert [p.symbol for p in clip.phonemes] == ["h", "i"]
        assert clip.phonemes[0].start == pytest.approx(0.05)
        clips = list(tts.stream_synthesize("Hi. Hi again! ...", VoiceSettings(), NEUTRAL))
        assert len(clips) == 2 and tts.starts == 1  # loaded once
        empty = tts.synthesize(" ... ", VoiceSettings(), NEUTRAL)
        assert empty.duration == 0 and empty.phonemes == ()
    finally:
        tts.close()


def test_dead_worker_is_restarted_once(tmp_path):
    tts = FakePiper(tmp_path, "die_first")
    try:
        assert tts.synthesize("Hi.", VoiceSettings(), NEUTRAL).duration > 0
        assert tts.starts == 2
    finally:
        tts.close()


def test_worker_that_keeps_dying_gives_a_clear_error(tmp_path):
    tts = FakePiper(tmp_path, "die")
    with pytest.raises(TTSError, match="died again after a restart"):
        tts.synthesize("Hi.", VoiceSettings(), NEUTRAL)
    assert tts.starts == 2


def test_every_wait_on_the_worker_has_a_timeout(tmp_path):
    tts = FakePiper(tmp_path, "hang", request_timeout_s=1.0)
    t0 = time.monotonic()
    with pytest.raises(TTSError, match="more than 1 s"):
        tts.synthesize("Hi.", VoiceSettings(), NEUTRAL)
    assert time.monotonic() - t0 < 10
    slow = FakePiper(tmp_path, "slow_start", start_timeout_s=1.0)
    with pytest.raises(TTSError, match="to load the voice"):
        slow.start()


def test_piper_missing_names_the_extra(monkeypatch):
    import avatar.voice.piper as piper_mod

    monkeypatch.setattr(piper_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TTSError, match=r'pip install "warmchat\[piper\]"'):
        PiperTTS(TTSSettings())


class FakeInnerModel:
    length_scale = 1.0


class FakeCoqui:
    """Stands in for TTS.api.TTS: tts(text=...) -> list of floats; one 150 ms tone per word."""

    def __init__(self):
        self.synthesizer = type("S", (), {"output_sample_rate": 16000, "tts_model": FakeInnerModel()})()
        self.calls = []

    def tts(self, text: str):
        self.calls.append((text, self.synthesizer.tts_model.length_scale))
        n = len(text.split())
        sr, word, gap = 16000, int(0.15 * 16000), int(0.1 * 16000)
        t = np.arange(word) / sr
        tone = 0.3 * np.sin(2 * np.pi * 180 * t)
        parts = [np.zeros(gap)]
        for _ in range(n):
            parts += [tone, np.zeros(gap)]
        return list(np.concatenate(parts) * (len(text) > 0))


def _coqui_dir(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text(json.dumps({"model": "vits"}))
    (tmp_path / "model.pth").write_bytes(b"\0")
    return tmp_path


def test_coqui_adapter_with_a_fake_model(tmp_path):
    fake = FakeCoqui()
    made = []
    tts = CoquiTTS(TTSSettings(coqui_model_dir=str(_coqui_dir(tmp_path))), tts_factory=lambda m, c: made.append((m, c)) or fake)
    assert made == []  # loads lazily
    clip = tts.synthesize("One two three. Four five.", VoiceSettings(backend="coqui"), EmotionState.of("sad", 1.0))
    assert made[0][0].name == "model.pth" and made[0][1].name == "config.json"
    assert [w.symbol for w in clip.words] == ["One", "two", "three", "Four", "five"]
    starts = [w.start for w in clip.words]
    assert starts == sorted(starts) and clip.words[-1].end <= clip.duration + 1e-6
    assert fake.calls[0][1] > 1.0  # sad: slower through the model's length_scale
    assert fake.synthesizer.tts_model.length_scale == 1.0  # restored after the call


def test_coqui_errors_are_actionable(tmp_path):
    with pytest.raises(TTSError, match="coqui_model_dir"):
        CoquiTTS(TTSSettings())
    with pytest.raises(TTSError, match="config.json"):
        CoquiTTS(TTSSettings(coqui_model_dir=str(tmp_path)))
    tts = CoquiTTS(TTSSettings(coqui_model_dir=str(_coqui_dir(tmp_path))))  # real loader; TTS not installed
    with pytest.raises(TTSError, match=r'pip install "warmchat\[coqui\]"'):
        tts.synthesize("Hello.", VoiceSettings(), NEUTRAL)


def test_registry():
    assert type(make_tts("espeak", TTSSettings())).__name__ == "EspeakTTS"
    with pytest.raises(ValueError, match="unknown TTS backend"):
        make_tts("nope", TTSSettings())


def test_piper_seed_reaches_the_worker_command():
    assert "--seed" not in PiperTTS(TTSSettings())._command()
    cmd = PiperTTS(TTSSettings(piper_seed=4))._command()
    assert cmd[cmd.index("--seed") + 1] == "4"
