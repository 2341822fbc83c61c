"""Coqui TTS adapter: speaks with a LOCAL Coqui checkpoint (settings.tts.coqui_model_dir).

Coqui cannot download models here, and `coqui-tts` is an optional extra
(`pip install "warmchat[coqui]"`, see README for the constraint file it needs). The package is
imported on first use. Documented API used: `TTS(model_path=..., config_path=...)` and
`tts(text=...) -> list[float]`, sample rate `tts.synthesizer.output_sample_rate`.

Timings: Coqui gives none, so phonemes from `espeak-ng -x --ipa` (or the letters of each word
when espeak-ng is missing) are placed on the audio by `energy_align`.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from avatar.settings import TTSSettings
from avatar.voice.base import SpeechClip, TTSError, VoiceSettings
from avatar.voice.delivery import Delivery
from avatar.voice.engine import SentenceTTS, change_pitch, finish_clip, scale_groups
from avatar.voice.espeak import parse_phonemes
from avatar.voice.text import words_of
from avatar.voice.timing import energy_align, scale_units

_LOG = logging.getLogger(__name__)
_MODEL_NAMES = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth", "model.pt")


def find_checkpoint(model_dir: str | Path) -> tuple[Path, Path]:
    """(model file, config.json) inside a Coqui checkpoint folder.

    Raises:
        TTSError: the folder, its config.json or a model file (*.pth / *.pt) is missing.
    """
    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        raise TTSError(f"tts.coqui_model_dir {str(folder)!r} is not a folder")
    config = folder / "config.json"
    if not config.is_file():
        raise TTSError(f"no config.json in Coqui model folder {str(folder)!r}")
    for name in _MODEL_NAMES:
        if (folder / name).is_file():
            return folder / name, config
    candidates = sorted([*folder.glob("*.pth"), *folder.glob("*.pt")])
    if not candidates:
        raise TTSError(f"no model file (*.pth, *.pt) in Coqui model folder {str(folder)!r}")
    return candidates[0], config


def _load_coqui(model_path: Path, config_path: Path) -> Any:
    try:
        from TTS.api import TTS  # coqui-tts; heavy (torch), imported only here
    except ImportError as exc:
        raise TTSError(f'the coqui TTS backend needs coqui-tts: pip install "warmchat[coqui]" ({exc})') from None
    return TTS(model_path=str(model_path), config_path=str(config_path), progress_bar=False).to("cpu")


class CoquiTTS(SentenceTTS):
    """TTS with a local Coqui checkpoint; `tts_factory(model_path, config_path)` builds the Coqui
    object (tests pass a fake). The model loads on first use.

    Delivery: pitch by resampling (`change_pitch`); rate through the model's `length_scale`
    when it has one (VITS-family models); otherwise the model speaks at its own rate and only
    the pitch change alters the duration (logged once). Loudness by gain.
    """

    def __init__(
        self,
        settings: TTSSettings,
        tts_factory: Callable[[Path, Path], Any] = _load_coqui,
        espeak: str | None = "espeak-ng",
        timeout_s: float = 20.0,
    ):
        if not settings.coqui_model_dir:
            raise TTSError("the coqui TTS backend needs tts.coqui_model_dir: a local Coqui checkpoint folder")
        self.model_path, self.config_path = find_checkpoint(settings.coqui_model_dir)
        self._factory = tts_factory
        self._tts: Any = None
        self._lock = threading.Lock()
        self._espeak = shutil.which(espeak) if espeak else None
        self._warned_rate = False
        self.timeout_s = timeout_s

    def _model(self) -> Any:
        if self._tts is None:
            _LOG.info("loading Coqui model %s", self.model_path)
            self._tts = self._factory(self.model_path, self.config_path)
            synth = getattr(self._tts, "synthesizer", None)
            self.sample_rate = int(getattr(synth, "output_sample_rate", 0) or 22050)
        return self._tts

    def _phonemes(self, sentence: str) -> list[list[str]]:
        if self._espeak:
            try:
                done = subprocess.run(
                    [self._espeak, "-q", "-x", "--ipa", "--sep=_", "-v", "en-us"],
                    input=sentence.encode(), capture_output=True, timeout=self.timeout_s, check=True,
                )
                return parse_phonemes(done.stdout.decode())
            except (subprocess.SubprocessError, OSError) as exc:
                _LOG.warning("espeak-ng phonemes failed (%s); using letters", exc)
        return [list(w.lower()) for w in words_of(sentence)]

    def _speak(self, sentence: str, voice: VoiceSettings, delivery: Delivery) -> SpeechClip:
        with self._lock:  # length_scale is set on the shared model for one call
            tts = self._model()
            inner = getattr(getattr(tts, "synthesizer", None), "tts_model", None)
            base = getattr(inner, "length_scale", None)
            if isinstance(base, (int, float)):
                inner.length_scale = base * delivery.pitch / delivery.rate
            elif abs(delivery.rate - 1.0) > 1e-3 and not self._warned_rate:
                _LOG.warning("this Coqui model has no length_scale: speaking rate follows pitch only")
                self._warned_rate = True
            try:
                wav = tts.tts(text=sentence)
            except Exception as exc:  # Coqui raises many types; report them as one
                raise TTSError(f"Coqui failed on {sentence[:40]!r}: {type(exc).__name__}: {exc}") from exc
            finally:
                if isinstance(base, (int, float)):
                    inner.length_scale = base
        pcm = np.asarray(wav, dtype=np.float32).reshape(-1)
        phonemes, groups = energy_align(pcm, self.sample_rate, self._phonemes(sentence))
        pcm, scale = change_pitch(pcm, delivery.pitch)
        return finish_clip(
            pcm, self.sample_rate, list(scale_units(phonemes, scale)), scale_groups(groups, scale), sentence, delivery.gain
        )
