"""IPA phonemes -> viseme classes -> ARKit mouth targets, and the per-frame viseme track."""

from __future__ import annotations

import numpy as np

from avatar.motion.clip import ARKIT_INDEX, ARKIT_NAMES, FPS
from avatar.voice.base import TimedUnit

# Viseme classes (after the Oculus/MPEG-4 sets, merged where the mouth shape is the same).
VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "RR", "aa", "E", "I", "O", "U",
)
NUM_VISEMES = len(VISEMES)

# IPA symbol (stress and length marks removed) -> viseme. Multi-character symbols first: lookup
# tries the longest prefix, so diphthongs take the shape of their first element.
_IPA: dict[str, str] = {
    "tʃ": "CH", "dʒ": "CH", "ʃ": "CH", "ʒ": "CH",
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "θ": "TH", "ð": "TH",
    "t": "DD", "d": "DD", "n": "DD", "l": "DD", "ɾ": "DD", "ʔ": "DD", "ɫ": "DD",
    "k": "kk", "ɡ": "kk", "g": "kk", "ŋ": "kk", "h": "kk", "x": "kk",
    "s": "SS", "z": "SS",
    "ɹ": "RR", "r": "RR", "ɚ": "RR", "ɝ": "RR",
    "ɑ": "aa", "a": "aa", "æ": "aa", "ʌ": "aa", "ɐ": "aa",
    "e": "E", "ɛ": "E", "ə": "E", "ɜ": "E", "ᵻ": "E",
    "i": "I", "ɪ": "I", "j": "I", "y": "I",
    "o": "O", "ɒ": "O", "ɔ": "O",
    "u": "U", "ʊ": "U", "w": "U",
}
_STRIP = str.maketrans("", "", "ˈˌːˑ̃ ̩̯-_")

# ARKit targets at full articulation per viseme (coefficients not listed are 0).
TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"mouthClose": 0.35, "mouthPressLeft": 0.4, "mouthPressRight": 0.4, "mouthRollLower": 0.15},
    "FF": {"jawOpen": 0.08, "mouthRollLower": 0.45, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2},
    "TH": {"jawOpen": 0.15, "tongueOut": 0.25, "mouthLowerDownLeft": 0.1, "mouthLowerDownRight": 0.1},
    "DD": {"jawOpen": 0.2, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "kk": {"jawOpen": 0.25, "mouthStretchLeft": 0.08, "mouthStretchRight": 0.08},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.45, "mouthPucker": 0.2, "mouthShrugUpper": 0.2},
    "SS": {"jawOpen": 0.08, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3},
    "RR": {"jawOpen": 0.15, "mouthPucker": 0.35, "mouthFunnel": 0.2},
    "aa": {"jawOpen": 0.6, "mouthLowerDownLeft": 0.25, "mouthLowerDownRight": 0.25},
    "E": {"jawOpen": 0.35, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25},
    "I": {"jawOpen": 0.2, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4, "mouthSmileLeft": 0.1, "mouthSmileRight": 0.1},
    "O": {"jawOpen": 0.45, "mouthFunnel": 0.5, "mouthPucker": 0.25},
    "U": {"jawOpen": 0.15, "mouthPucker": 0.7, "mouthFunnel": 0.3},
}
TARGET_MATRIX = np.zeros((NUM_VISEMES, len(ARKIT_NAMES)), np.float32)
for _i, _v in enumerate(VISEMES):
    for _name, _w in TARGETS[_v].items():
        TARGET_MATRIX[_i, ARKIT_INDEX[_name]] = _w
# Columns that visemes drive (the teacher's coarticulated mouth writes only these).
MOUTH_COLUMNS = np.flatnonzero(TARGET_MATRIX.any(axis=0))


def viseme_of(ipa: str) -> int:
    """Viseme class index of one IPA phoneme; pauses, empty and unknown symbols are `sil` (0)."""
    s = ipa.translate(_STRIP)
    for n in (2, 1):
        if s[:n] in _IPA:
            return VISEMES.index(_IPA[s[:n]])
    return 0


def is_vowel(ipa: str) -> bool:
    return VISEMES[viseme_of(ipa)] in ("aa", "E", "I", "O", "U") and ipa.translate(_STRIP)[:1] not in "jw"


def viseme_track(phonemes: tuple[TimedUnit, ...], num_frames: int, fps: int = FPS) -> np.ndarray:
    """(T, NUM_VISEMES) float32 one-hot viseme per frame (frame centre inside the phoneme; else sil)."""
    out = np.zeros((num_frames, NUM_VISEMES), np.float32)
    cls = np.zeros(num_frames, np.int64)
    centres = (np.arange(num_frames) + 0.5) / fps
    for ph in phonemes:
        sel = (centres >= ph.start) & (centres < ph.end)
        cls[sel] = viseme_of(ph.symbol)
    out[np.arange(num_frames), cls] = 1.0
    return out
