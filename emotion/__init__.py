"""Emotion: states on the valence/arousal plane, text emotion recognition, emotion profiles."""

from emotion.builtin import builtin_profiles_dir, get_profile, list_profiles
from emotion.profile import EmotionProfile, ProfileError, load_profile
from emotion.state import Emotion, EmotionState, blend, decay, label_for, parse_emotion, weighted_mean
from emotion.text import recognize

__all__ = [
    "Emotion", "EmotionProfile", "EmotionState", "ProfileError", "blend", "builtin_profiles_dir",
    "decay", "get_profile", "label_for", "list_profiles", "load_profile", "parse_emotion",
    "recognize", "weighted_mean",
]
