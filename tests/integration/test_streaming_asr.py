"""StreamingTranscriber with the real Whisper tiny.en on real speech (LibriVox, public domain)."""

import re
from pathlib import Path

import pytest

from dialogue.asr.audio import load_audio, to_mono_16k
from dialogue.asr.streaming import StreamingTranscriber
from dialogue.asr.whisper import WhisperASR
from dialogue.settings import ASRSettings

pytestmark = pytest.mark.integration
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
NAME = "sense_and_sensibility_01_austen_64kb-0870"  # 7.1 s


def words(text):
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.fixture(scope="module")
def asr():
    if not (LIBRIVOX / f"{NAME}.wav").is_file():
        pytest.skip("Debian pocketsphinx-testdata is not installed")
    model = WhisperASR(ASRSettings())
    model.load()
    return model


def test_partials_grow_while_the_person_speaks_and_finish_matches_one_pass(asr):
    pcm, sr = load_audio(LIBRIVOX / f"{NAME}.wav")
    x = to_mono_16k(pcm, sr)
    # a clock that never moves: a partial every second of audio, however loaded the machine
    st = StreamingTranscriber(asr, 16000, partial_every_s=1.0, clock=lambda: 0.0)
    partials = []
    for i in range(0, len(x), 1600):  # 100 ms microphone chunks
        st.feed(x[i:i + 1600])
        text = st.partial()
        if not partials or text != partials[-1]:
            partials.append(text)
    final = st.finish()
    whole = asr.transcribe(x, 16000).text
    assert words(final) == words(whole)
    heard = [p for p in partials if p]
    assert len(heard) >= 3  # the transcript grew while the audio came in
    # an early partial already holds the first words of the final transcript
    first = words(heard[0])
    assert first and words(final)[:2] == first[:2]
