"""eSpeak NG backend: the light fallback (Debian `espeak-ng`, run as a command, ~200x real time).

Audio comes from `espeak-ng --stdout`; phonemes from `espeak-ng -q -x --ipa --sep=_` (phonetic
words separated by spaces, phonemes by "_"). The command line gives no timings (`--pho` needs an
MBROLA voice, not installed), so phonemes are placed on the audio by `energy_align` (pause-aware
proportional alignment). espeak-ng is GPL-3.0: it is only ever run as a separate program.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess

import numpy as np
import soundfile as sf

from avatar.settings import TTSSettings
from avatar.voice.base import SpeechClip, TTSError, VoiceSettings
from avatar.voice.delivery import Delivery
from avatar.voice.engine import SentenceTTS, finish_clip
from avatar.voice.timing import STRESS, energy_align

_LOG = logging.getLogger(__name__)

DEFAULT_VOICE = "en-us"
BASE_WPM = 175  # espeak-ng's default speed
BASE_PITCH = 50  # espeak-ng's default pitch (0-99)


def espeak_args(voice: VoiceSettings, delivery: Delivery) -> list[str]:
    """Command-line options for `delivery`: -s words per minute, -p pitch (0-99)."""
    speed = int(round(BASE_WPM * delivery.rate))
    # espeak's pitch scale is roughly linear in F0 around 50; 1 % of F0 ~ 2 steps
    pitch = int(round(min(max(BASE_PITCH + (delivery.pitch - 1.0) * 200, 0), 99)))
    return ["-v", voice.voice or DEFAULT_VOICE, "-s", str(speed), "-p", str(pitch)]


def parse_phonemes(output: str) -> list[list[str]]:
    """Phonetic words of `espeak-ng -x --ipa --sep=_` output, stress marks removed."""
    words = []
    for token in output.split():
        phones = ["".join(c for c in p if c not in STRESS) for p in token.split("_")]
        phones = [p for p in phones if p]
        if phones:
            words.append(phones)
    return words


class EspeakTTS(SentenceTTS):
    """Formant TTS via the espeak-ng command; timings by energy-based alignment."""

    def __init__(self, settings: TTSSettings, timeout_s: float = 20.0, executable: str = "espeak-ng"):
        path = shutil.which(executable)
        if path is None:
            raise TTSError("the espeak backend needs the espeak-ng program: apt-get install espeak-ng")
        self.settings = settings
        self.executable = path
        self.timeout_s = timeout_s
        self.sample_rate = 22050

    def _run(self, args: list[str], text: str) -> bytes:
        try:
            done = subprocess.run(
                [self.executable, *args], input=text.encode(), capture_output=True, timeout=self.timeout_s
            )
        except subprocess.TimeoutExpired:
            raise TTSError(f"espeak-ng took more than {self.timeout_s:.0f} s") from None
        if done.returncode != 0:
            raise TTSError(f"espeak-ng failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def _speak(self, sentence: str, voice: VoiceSettings, delivery: Delivery) -> SpeechClip:
        args = espeak_args(voice, delivery)
        wav = self._run([*args, "--stdout"], sentence)
        # espeak writes a WAV header with unknown length when piping; read the samples as raw
        pcm, sr = _read_wav(wav)
        phones = parse_phonemes(self._run([*args, "-q", "-x", "--ipa", "--sep=_"], sentence).decode())
        phonemes, groups = energy_align(pcm, sr, phones)
        return finish_clip(pcm, sr, phonemes, groups, sentence, delivery.gain)


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """PCM of a WAV produced by espeak on stdout (its RIFF sizes may be 0x7fffffff or 0)."""
    if len(data) < 44 or data[:4] != b"RIFF":
        raise TTSError("espeak-ng produced no audio")
    try:
        pcm, sr = sf.read(io.BytesIO(data), dtype="float32")
    except sf.LibsndfileError:
        sr = int.from_bytes(data[24:28], "little")
        pcm = np.frombuffer(data[44 : 44 + (len(data) - 44) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    return np.asarray(pcm, dtype=np.float32).reshape(-1), int(sr)
