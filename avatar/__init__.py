"""Avatar: voice, motion, face analysis, rendering and video."""
