"""Stand-ins for the TTS and motion generator used by the render tests (espeak-ng + energy)."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np

from avatar.render.demo import energy_motion
from avatar.voice.base import SpeechClip


class EspeakTTS:
    """espeak-ng to a WAV on stdout; no phoneme timings."""

    def synthesize(self, text, voice, emotion) -> SpeechClip:
        import soundfile as sf

        exe = shutil.which("espeak-ng")
        if exe is None:
            raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
        wav = subprocess.run([exe, "--stdout", text], capture_output=True, check=True, timeout=30).stdout
        pcm, sr = sf.read(io.BytesIO(wav), dtype="float32")
        return SpeechClip(pcm=np.asarray(pcm, np.float32).reshape(-1), sample_rate=int(sr), text=text)

    def stream_synthesize(self, text, voice, emotion):
        yield self.synthesize(text, voice, emotion)


class EnergyMotion:
    """jawOpen from the speech's energy, plus blinks and sway (avatar.render.demo)."""

    def generate(self, request):
        return energy_motion(request.speech.pcm, request.speech.sample_rate, seed=request.seed or 0)
