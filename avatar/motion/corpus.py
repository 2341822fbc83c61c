"""A small speech corpus for training and testing motion: template sentences spoken by a TTS.

The default speaker is espeak-ng through its C library (libespeak-ng, Debian `espeak-ng`), which
reports per-phoneme IPA events with sample positions: exact phoneme timings without MBROLA. Any
callable `text -> SpeechClip` (e.g. the piper TTS) can replace it in `synthesize_corpus`.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Iterator

import numpy as np

from avatar.voice.base import SpeechClip, TimedUnit

Speaker = Callable[[str], SpeechClip]

_SUBJECTS = ["I", "We", "My friend", "The teacher", "Our neighbour", "Everyone", "She", "He", "They",
             "The little boy", "My grandmother", "The doctor"]
_VERBS = ["really liked", "could not find", "talked about", "was thinking of", "never expected",
          "carefully painted", "quickly forgot", "wanted to see", "brought home", "laughed about",
          "was worried about", "fixed"]
_OBJECTS = ["the old blue car", "a letter from home", "the garden behind the house", "that strange movie",
            "the broken window", "a cup of warm tea", "the long summer holiday", "the music downstairs",
            "a map of the city", "the birthday cake", "the empty room", "the price of bread"]
_TAILS = ["", " yesterday", " last night", " this morning", ", to be honest", " after lunch",
          " and I was surprised", ", but nobody knew why", " for a very long time", " again"]
_QUESTIONS = ["Do you think {o} is worth it?", "Why would anyone forget {o}?", "Have you ever seen {o}?",
              "What do you remember about {o}?", "Can you tell me more about {o}?"]
_SHORT = ["Oh, really?", "That is wonderful news.", "I am so sorry to hear that.", "No way!",
          "Well, let me think about it.", "Thank you, that means a lot.", "Hmm, I am not sure.",
          "Please, stop doing that.", "What a lovely surprise!", "I can't believe it."]


def make_sentences(n: int, seed: int = 0) -> list[str]:
    """`n` varied English sentences from templates (statements, questions, short replies, pairs)."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        kind = rng.random()
        o = str(rng.choice(_OBJECTS))
        if kind < 0.5:
            s = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {o}{rng.choice(_TAILS)}."
        elif kind < 0.7:
            s = str(rng.choice(_QUESTIONS)).format(o=o)
        elif kind < 0.85:
            s = str(rng.choice(_SHORT))
        else:  # two clauses: gives a mid-utterance pause
            s = f"{rng.choice(_SHORT)} {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {o}."
        out.append(s)
    return out


class _Event(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EV_END_OF_LIST, _EV_WORD, _EV_PHONEME = 0, 1, 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA = 0x0001, 0x0002
_RATE, _PITCH = 1, 3


class EspeakSpeaker:
    """espeak-ng through libespeak-ng: `speaker(text) -> SpeechClip` with phoneme and word timings.

    The library is a process-wide singleton, so calls are serialized by a lock.

    Raises:
        RuntimeError: libespeak-ng is not installed (apt-get install espeak-ng).
    """

    _lock = threading.Lock()
    _lib: ctypes.CDLL | None = None
    _rate: int = 22050

    def __init__(self, voice: str = "en", words_per_minute: int = 165, pitch: int = 50) -> None:
        self.voice, self.wpm, self.pitch = voice, int(words_per_minute), int(pitch)
        with self._lock:
            if EspeakSpeaker._lib is None:
                try:
                    lib = ctypes.CDLL("libespeak-ng.so.1")
                except OSError as exc:
                    raise RuntimeError("libespeak-ng not found: apt-get install espeak-ng") from exc
                EspeakSpeaker._rate = lib.espeak_Initialize(
                    _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
                if EspeakSpeaker._rate <= 0:
                    raise RuntimeError("espeak_Initialize failed (espeak-ng-data missing?)")
                EspeakSpeaker._lib = lib

    def __call__(self, text: str) -> SpeechClip:
        lib = EspeakSpeaker._lib
        sr = EspeakSpeaker._rate
        chunks: list[np.ndarray] = []
        events: list[tuple[int, str | int, int]] = []  # (type, IPA or text position, sample)

        def on_audio(wav, n, evs):  # called synchronously from espeak_Synth
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, (n,)).astype(np.float32) / 32768.0)
            i = 0
            while evs[i].type != _EV_END_OF_LIST:
                e = evs[i]
                if e.type == _EV_PHONEME:
                    events.append((_EV_PHONEME, e.id.string.decode("utf-8", "replace"), e.sample))
                elif e.type == _EV_WORD:
                    events.append((_EV_WORD, (e.text_position, e.length), e.sample))
                i += 1
            return 0

        data = text.encode("utf-8")
        with self._lock:
            cb = _CALLBACK(on_audio)
            lib.espeak_SetSynthCallback(cb)
            lib.espeak_SetVoiceByName(self.voice.encode())
            lib.espeak_SetParameter(_RATE, self.wpm, 0)
            lib.espeak_SetParameter(_PITCH, self.pitch, 0)
            lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 0, None, None)
            lib.espeak_Synchronize()
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return SpeechClip(pcm=pcm, sample_rate=sr, phonemes=_phonemes(events, len(pcm), sr),
                          words=_words(events, data, len(pcm), sr), text=text)


def _phonemes(events, n: int, sr: int) -> tuple[TimedUnit, ...]:
    """Phoneme events -> TimedUnits; each phoneme ends where the next event starts. Empty IPA
    strings are espeak's pauses and are left out (the gap is silence)."""
    ph = [(s, smp) for typ, s, smp in events if typ == _EV_PHONEME]
    out = []
    for i, (sym, smp) in enumerate(ph):
        end = ph[i + 1][1] if i + 1 < len(ph) else n
        if sym and end > smp:
            out.append(TimedUnit(sym, min(smp, n) / sr, min(end, n) / sr))
    return tuple(u for u in out if u.end > u.start)


def _words(events, data: bytes, n: int, sr: int) -> tuple[TimedUnit, ...]:
    """Word events -> TimedUnits ending at the last phoneme before the next word (not the pause)."""
    out = []
    idx = [i for i, e in enumerate(events) if e[0] == _EV_WORD]
    for k, i in enumerate(idx):
        (pos, length), start = events[i][1], events[i][2]
        word = data[pos - 1: pos - 1 + length].decode("utf-8", "replace")
        stop = idx[k + 1] if k + 1 < len(idx) else len(events)
        phs = [j for j in range(i + 1, stop) if events[j][0] == _EV_PHONEME and events[j][1]]
        if not phs:
            continue
        last = phs[-1]
        end = events[last + 1][2] if last + 1 < len(events) else n
        out.append(TimedUnit(word, min(start, n) / sr, min(end, n) / sr))
    return tuple(w for w in out if w.end > w.start)


def synthesize_corpus(sentences: list[str], speaker: Speaker | None = None) -> Iterator[SpeechClip]:
    """Speak each sentence with `speaker` (default: espeak-ng at varied rates and pitches).

    Lazy: each clip is synthesized when the iterator reaches it (espeak ~200x real time).
    """
    rng = np.random.default_rng(len(sentences))
    for text in sentences:
        spk = speaker or EspeakSpeaker(
            voice=str(rng.choice(["en", "en-us", "en-gb"])),
            words_per_minute=int(rng.integers(140, 190)), pitch=int(rng.integers(35, 70)))
        yield spk(text)


def join_speech(clips: list[SpeechClip], gaps_s: list[float]) -> SpeechClip:
    """Clips one after another with `gaps_s[i]` seconds of silence after clip i (timings shifted).

    Raises:
        ValueError: no clips, differing sample rates, or len(gaps_s) != len(clips).
    """
    if not clips or len(gaps_s) != len(clips) or len({c.sample_rate for c in clips}) != 1:
        raise ValueError("join_speech needs clips of one sample rate and one gap per clip")
    sr = clips[0].sample_rate
    pcm, phonemes, words, t = [], [], [], 0.0
    for clip, gap in zip(clips, gaps_s):
        phonemes += [TimedUnit(u.symbol, u.start + t, u.end + t) for u in clip.phonemes]
        words += [TimedUnit(u.symbol, u.start + t, u.end + t) for u in clip.words]
        silence = np.zeros(int(round(max(gap, 0.0) * sr)), np.float32)
        pcm += [clip.pcm.astype(np.float32), silence]
        t += (len(clip.pcm) + len(silence)) / sr
    return SpeechClip(np.concatenate(pcm), sr, tuple(phonemes), tuple(words),
                      " ".join(c.text for c in clips))
