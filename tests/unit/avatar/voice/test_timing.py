import numpy as np
import pytest

from avatar.voice.base import SpeechClip, TimedUnit
from avatar.voice.engine import change_pitch, finish_clip
from avatar.voice.timing import (
    PhoneticWord,
    assign_words,
    concat_clips,
    energy_align,
    speech_regions,
    units_from_alignments,
)

SR = 1000  # 1 sample = 1 ms keeps the arithmetic readable


def test_units_from_piper_alignments():
    al = [("^", 50), ("h", 30), ("ˈ", 20), ("ɛ", 40), ("ː", 10), (" ", 15), ("j", 25), ("u", 35), ("?", 60), ("$", 5)]
    phonemes, words = units_from_alignments(al, SR)
    assert [p.symbol for p in phonemes] == ["h", "ɛː", "j", "u"]
    spans = [t for p in phonemes for t in (p.start, p.end)]
    # stress time goes to the phoneme after it, the length mark extends ɛ, the space is a gap
    assert spans == pytest.approx([0.05, 0.08, 0.08, 0.15, 0.165, 0.19, 0.19, 0.225])
    assert [t for w in words for t in (w.start, w.end, w.n_phonemes)] == pytest.approx([0.05, 0.15, 2, 0.165, 0.225, 2])


def test_assign_words_handles_merge_and_split():
    groups = [PhoneticWord(0.0, 0.3, 4), PhoneticWord(0.3, 0.5, 3), PhoneticWord(0.6, 0.8, 5),
              PhoneticWord(0.8, 1.0, 4), PhoneticWord(1.0, 1.4, 6)]
    # "I am" -> one phonetic word; "25" -> "twenty" "five"
    words = assign_words(["Hello", "I", "am", "25", "dollars"], groups)
    assert [w.symbol for w in words] == ["Hello", "I", "am", "25", "dollars"]
    assert words[0].end == 0.3 and words[1].start == 0.3 and words[2].end == 0.5
    assert words[1].end == pytest.approx(words[2].start)
    assert (words[3].start, words[3].end) == (0.6, 1.0)
    assert (words[4].start, words[4].end) == (1.0, 1.4)
    assert assign_words([], groups) == [] and assign_words(["a"], []) == []


def _bursts(spans, sr=16000, total=2.0):
    t = np.arange(int(total * sr)) / sr
    x = np.zeros_like(t)
    for a, b in spans:
        m = (t >= a) & (t < b)
        x[m] = 0.5 * np.sin(2 * np.pi * 200 * t[m])
    return x.astype(np.float32)


def test_energy_align_puts_words_on_loud_regions():
    pcm = _bursts([(0.2, 0.8), (1.2, 1.6)])
    assert speech_regions(pcm, 16000) == [pytest.approx((0.2, 0.8), abs=0.011), pytest.approx((1.2, 1.6), abs=0.011)]
    # three words, the pause falls after the second (6 of 9 phonemes ~ 0.6 of 1.0 s speech)
    phonemes, groups = energy_align(pcm, 16000, [["h", "a", "i"], ["d", "e", "a"], ["j", "o", "u"]])
    assert len(phonemes) == 9 and len(groups) == 3
    assert groups[0].start == pytest.approx(0.2, abs=0.011) and groups[1].end == pytest.approx(0.8, abs=0.011)
    assert groups[2].start == pytest.approx(1.2, abs=0.011) and groups[2].end == pytest.approx(1.6, abs=0.011)
    ends = [p.end for p in phonemes]
    assert all(b >= a for a, b in zip(ends, ends[1:]))
    assert energy_align(np.zeros(1000, np.float32), 16000, [["a"]]) == ([], [])


def test_concat_clips_offsets_timings():
    a = SpeechClip(np.ones(100, np.float32), SR, (TimedUnit("a", 0.0, 0.1),), (TimedUnit("A", 0.0, 0.1),), "A")
    b = SpeechClip(np.ones(50, np.float32), SR, (TimedUnit("b", 0.01, 0.05),), (TimedUnit("B", 0.01, 0.05),), "B")
    c = concat_clips([a, b], gap_s=0.2)
    assert len(c.pcm) == 350 and c.text == "A B"
    assert c.phonemes[1] == TimedUnit("b", pytest.approx(0.31), pytest.approx(0.35))
    with pytest.raises(ValueError):
        concat_clips([])


def test_change_pitch_shortens_audio_by_the_factor():
    x = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    y, scale = change_pitch(x, 1.1)
    assert scale == pytest.approx(1 / 1.1, rel=0.01) and len(y) == pytest.approx(len(x) / 1.1, rel=0.01)
    assert change_pitch(x, 1.0)[1] == 1.0


def test_finish_clip_levels_trims_and_extends_last_phoneme():
    sr = 16000
    pcm = _bursts([(0.1, 0.9)], sr, total=1.5) * 0.3
    phonemes = [TimedUnit("a", 0.1, 0.5), TimedUnit("b", 0.5, 0.8)]  # aligner ended early
    groups = [PhoneticWord(0.1, 0.8, 2)]
    clip = finish_clip(pcm, sr, phonemes, groups, "ab", gain=1.0)
    assert np.max(np.abs(clip.pcm)) == pytest.approx(0.6, rel=0.01)
    assert clip.phonemes[-1].end == pytest.approx(0.9, abs=0.011)
    assert clip.duration == pytest.approx(0.95, abs=0.015)
    assert clip.words == (TimedUnit("ab", 0.1, clip.phonemes[-1].end),)
