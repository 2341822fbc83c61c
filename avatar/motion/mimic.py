"""Personalisation: learn a named talking style from a tracked reference video (`warmchat mimic`).

The generator stays frozen; we fit its style code (D,) and a per-channel output affine (60 scales
and shifts on the normalised output) in two stages.
1. Gradient fit (`avatar.motion.style_fit.fit_style`, a fixed number of seeded steps: the same style whatever the
   machine's load) on windows of the tracked motion, conditioned on the video's audio
   (silence when it has none) without a phoneme track: reconstruction through the posterior latent
   plus matching of the per-channel mean and spread of prior-sampled motion to the person's.
   Frames where no face was found are left out of the loss.
2. Moment calibration (`avatar.motion.calibration.calibrate_style`): the styled generator speaks (the clip's own audio, or
   reference espeak speech when the clip is silent: the style is used while the avatar speaks),
   its motion is cut into clip-length pieces and the style is adjusted until the median piece's
   head-motion spread and expression ranges match the tracked clip's: expressions through the
   output affine, head rotation, position, scale and gaze through gains on the shown motion
   (outside the generator's loop, whose context must stay motion it knows). The style also
   carries its head-rotation limits (`head_limits`): wide enough for the person's own range.
The result is a small file `<styles_dir>/NAME.pt` that the generator loads with
`MotionRequest(style=NAME)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from avatar.motion.calibration import CALIBRATION_SECONDS, calibrate_style, calibration_seeds, calibration_speech
from avatar.motion.generator import DEFAULT_CHECKPOINT, TransformerMotionGenerator
from avatar.motion.style_fit import FIT_STEPS, Tracked, check_style_name, fit_style, save_style

@dataclass(frozen=True, slots=True)
class StyleFit:
    """What `mimic` did: the saved style file, fit steps, wall and process-CPU seconds of the
    gradient fit and of the calibration, losses, face share."""

    path: Path
    steps: int
    seconds: float
    cpu_seconds: float
    loss_before: float
    loss_after: float
    face_fraction: float
    spread_error_before: float = float("nan")   # calibrate_style's figures (nan: not calibrated)
    spread_error_after: float = float("nan")
    spread_error_worst: float = float("nan")    # the worst calibrated channel's |log ratio| after
    calibration_seconds: float = 0.0
    calibration_cpu_seconds: float = 0.0


def mimic(tracked: Tracked, name: str, styles_dir: Path, checkpoint: Path = DEFAULT_CHECKPOINT,
          steps: int = FIT_STEPS, calibration_steps: int = 16,
          calibration_seconds: float = CALIBRATION_SECONDS) -> StyleFit:
    """Learn the style of a tracked video and save it as `name` (see module docstring): the
    gradient fit (`fit_style`, `steps` steps), then `calibration_steps` rounds of moment
    calibration (`calibrate_style`; 0: none; each measurement generates `calibration_seconds` of
    speech, `calibration_seeds`). Both are bounded by counts, never by time.

    Raises:
        ValueError: a bad style name, no face, too little face or steps < 1 (see fit_style).
    """
    check_style_name(name)
    gen = TransformerMotionGenerator(checkpoint, threads=torch.get_num_threads())
    fit = fit_style(gen, tracked, steps=steps)
    t0, c0 = time.perf_counter(), time.process_time()
    cal = {}
    if calibration_steps:
        speech = calibration_speech(tracked)
        cal = calibrate_style(fit, Path(checkpoint), tracked, calibration_steps, speech,
                              calibration_seeds(speech.duration, calibration_seconds))
    cal_wall, cal_cpu = time.perf_counter() - t0, time.process_time() - c0
    path = save_style(fit, Path(styles_dir), name)
    return StyleFit(path, int(fit["steps"]), float(fit["seconds"]), float(fit["cpu_seconds"]),
                    float(fit["loss_before"]), float(fit["loss_after"]), float(fit["face_fraction"]),
                    cal.get("spread_log_error_before", float("nan")), cal.get("spread_log_error_after", float("nan")),
                    cal.get("spread_log_error_worst", float("nan")), cal_wall, cal_cpu)
