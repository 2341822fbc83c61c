"""Emotion: states on the valence/arousal plane, text emotion recognition, emotion profiles."""

from emotion.state import Emotion, EmotionState, blend, decay, label_for, parse_emotion, weighted_mean

__all__ = ["Emotion", "EmotionState", "blend", "decay", "label_for", "parse_emotion", "weighted_mean"]
