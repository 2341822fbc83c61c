"""Bad input: empty, silent, clipped, wrong rate, too long, corrupt; with a scripted Whisper fake."""

import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from dialogue.asr import AudioError, load_audio, make_asr, to_mono_16k
from dialogue.asr.whisper import WhisperASR, encoder_frames
from dialogue.settings import ASRSettings


def tone(seconds=1.0, sr=16000, amp=0.3, f=150.0):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


class FakeWhisper:
    def __init__(self):
        self.seen = []

    def transcribe(self, audio, **kw):
        self.seen.append((audio, kw))
        word = SimpleNamespace(word=" hello", start=0.1, end=0.4)
        return iter([SimpleNamespace(text=" Hello.", words=[word])]), SimpleNamespace(language="en")


def fake_asr(**settings):
    fake = FakeWhisper()
    return WhisperASR(ASRSettings(**settings), model_factory=lambda s: fake), fake


def test_wrong_sample_rates_are_resampled_to_16k():
    assert len(to_mono_16k(tone(1.0, 44100), 44100)) == 16000
    assert len(to_mono_16k(tone(1.0, 8000), 8000)) == 16000
    stereo = np.stack([tone(0.5, 48000), tone(0.5, 48000)], axis=1)
    assert to_mono_16k(stereo, 48000).shape == (8000,)
    asr, fake = fake_asr()
    tr = asr.transcribe(tone(1.0, 22050), 22050)
    assert tr.text == "Hello." and len(fake.seen[0][0]) == 16000 and tr.words[0].text == "hello"
    assert tr.duration == pytest.approx(1.0)


@pytest.mark.parametrize("rate", [0, -16000, 100, 16000.5])
def test_unusable_sample_rate_is_an_audio_error(rate):
    with pytest.raises(AudioError, match="sample rate"):
        to_mono_16k(tone(), rate)


def test_empty_and_non_finite_audio_are_audio_errors():
    asr, _ = fake_asr()
    with pytest.raises(AudioError, match="empty"):
        asr.transcribe(np.zeros(0, np.float32), 16000)
    bad = tone()
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        asr.transcribe(bad, 16000)


def test_silence_gives_an_empty_transcript_with_a_reason():
    asr, fake = fake_asr()
    tr = asr.transcribe(np.zeros(16000 * 2, np.float32), 16000)
    assert tr.text == "" and "silent" in tr.reason and fake.seen == []
    noise = (np.random.default_rng(0).standard_normal(16000) * 1e-4).astype(np.float32)
    assert asr.transcribe(noise, 16000).reason.startswith("no speech")


def test_clipped_audio_is_transcribed_with_a_warning():
    asr, _ = fake_asr()
    clipped = np.clip(tone(amp=3.0), -1, 1)
    tr = asr.transcribe(clipped, 16000)
    assert tr.text == "Hello." and "clipped" in tr.reason


def test_ten_minutes_is_over_the_limit():
    asr, fake = fake_asr(max_duration_s=120)
    ten_min = np.zeros(16000 * 600, np.float32)
    with pytest.raises(AudioError, match="600 s long; the limit for one turn is 120 s"):
        asr.transcribe(ten_min, 16000)
    assert fake.seen == []


def test_load_audio_corrupt_missing_and_empty_files(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20)
    with pytest.raises(AudioError, match="cannot (decode|read) audio file corrupt.wav|corrupt.wav"):
        load_audio(corrupt)
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")


def test_load_audio_reads_wav_and_browser_webm(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(1.0, 48000), 48000)
    pcm, sr = load_audio(wav)
    assert sr == 48000 and len(pcm) == 48000
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    webm = tmp_path / "mic.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "libopus", str(webm)], check=True, timeout=60)
    pcm, sr = load_audio(webm)
    assert sr == 16000 and len(pcm) == pytest.approx(16000, abs=400)


def test_make_asr():
    assert isinstance(make_asr(ASRSettings()), WhisperASR)
    with pytest.raises(ValueError):
        make_asr(ASRSettings(backend="nope"))


def test_dialogue_asr_does_not_import_torch():
    code = "import sys, dialogue.asr, dialogue.asr.whisper, dialogue.asr.vad; assert 'torch' not in sys.modules and 'gradio' not in sys.modules"
    subprocess.run([__import__("sys").executable, "-c", code], check=True, timeout=60)


def test_the_encoder_window_fits_the_audio_within_whispers_30_seconds():
    assert encoder_frames(3.0, 15.0) == 1500  # short speech: the window
    assert encoder_frames(20.0, 15.0) == 2200  # longer: the audio and 2 s after it
    assert encoder_frames(40.0, 15.0) == 3000  # never past the model's own window
    assert encoder_frames(3.0, 30.0) == 3000
    assert encoder_frames(13.005, 15.0) % 2 == 0
