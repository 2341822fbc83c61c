"""StreamingTranscriber with a fake recogniser: when it re-transcribes, what it returns."""

import numpy as np
import pytest

from dialogue.asr.base import Prosody, Transcript
from dialogue.asr.streaming import StreamingTranscriber, settled

SR = 16000


class FakeASR:
    """'w1 w2 ...': one word per second of audio; each call 'takes' `cost_s` on the fake clock."""

    def __init__(self, clock, cost_s=0.2):
        self.clock, self.cost_s, self.calls = clock, cost_s, []

    def transcribe(self, pcm, sample_rate):
        assert sample_rate == SR and pcm.dtype == np.float32 and pcm.ndim == 1
        self.calls.append(len(pcm) / sample_rate)
        self.clock.t += self.cost_s
        words = " ".join(f"w{k + 1}" for k in range(int(len(pcm) / sample_rate)))
        return Transcript(words, (), len(pcm) / sample_rate, Prosody(0.01, np.zeros(0, np.float32), np.zeros(0, np.float32)))


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def make(cost_s=0.2, **kw):
    clock = Clock()
    asr = FakeASR(clock, cost_s)
    return StreamingTranscriber(asr, clock=clock, **kw), asr


def speak(st, seconds, chunk_s=0.1, sr=SR):
    """Feed `seconds` of audio in chunks, asking for a partial after each (as a live loop does)."""
    partials = []
    for _ in range(int(round(seconds / chunk_s))):
        st.feed(np.full(int(chunk_s * sr), 0.1, np.float32))
        partials.append(st.partial())
    return partials


def test_partials_grow_and_are_transcribed_at_most_once_a_second_of_new_audio():
    st, asr = make()
    partials = speak(st, 3.5)
    assert len(asr.calls) == 3 and asr.calls == pytest.approx([1.0, 2.0, 3.0])
    assert partials[9] == "w1" and partials[-1] == "w1 w2 w3"
    assert st.finish() == "w1 w2 w3"  # the last 0.5 s is new: transcribed once more
    assert asr.calls[-1] == pytest.approx(3.5) and len(asr.calls) == 4
    assert st.finish() == "w1 w2 w3" and len(asr.calls) == 4  # nothing new: no call


def test_a_slow_recogniser_is_asked_less_often():
    st, asr = make(cost_s=1.5)  # each call takes 1.5 s: wait for 3 s of new audio
    speak(st, 7.0)
    assert asr.calls == pytest.approx([1.0, 4.0, 7.0])


def test_reset_starts_a_new_utterance_and_input_is_any_rate_and_int16():
    st, asr = make(sample_rate=48000)
    st.feed((np.ones(96000) * 3000).astype(np.int16))
    assert st.finish() == "w1 w2" and st.duration_s == pytest.approx(2.0)
    st.reset()
    assert st.partial() == "" and st.finish() == "" and st.duration_s == 0
    speak(st, 1.0, sr=48000)
    assert st.finish() == "w1" and st.transcript.duration == pytest.approx(1.0)


def test_audio_past_the_longest_utterance_is_dropped():
    st, asr = make(max_duration_s=2.0)
    speak(st, 3.0)
    assert st.duration_s == pytest.approx(2.0) and st.finish() == "w1 w2"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        StreamingTranscriber(FakeASR(Clock()), partial_every_s=0)


def test_the_settled_words_of_a_partial_leave_out_the_last_one_which_may_yet_change():
    assert settled("He was not an old.") == "He was not an"  # cut off: Whisper's full stop goes too
    assert settled("Hello") == "" and settled("") == "" and settled("  a  b ") == "a"
