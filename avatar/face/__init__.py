"""Portrait analysis: landmarks, head pose, crop/align, the landmark rig, video tracking."""

from avatar.face.landmarks import FaceLandmarks, PortraitError, detect_landmarks, mouth_aperture
from avatar.face.portrait import Portrait, load_portrait
from avatar.face.tracking import TrackedVideo, track_video

__all__ = ["FaceLandmarks", "Portrait", "PortraitError", "TrackedVideo", "detect_landmarks", "load_portrait",
           "mouth_aperture", "track_video"]
