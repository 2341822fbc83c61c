"""Frame strip of the diffusion renderer driven by warmchat's own motion: one row per emotion, the
avatar speaking (two frames) and listening (two frames), beside the coarse warp alone.

    python -m bench.refiner_strips CHECKPOINT PORTRAIT [--out docs/strip_refiner.jpg]

CHECKPOINT and PORTRAIT come from `warmchat train-renderer VIDEO` or `python -m bench.refiner`
(the portrait is the clip's reference frame). The motion is the shipped generator's (espeak
voice, so no piper worker is needed), through the same pipeline as `warmchat render`
(avatar.pipeline.AvatarPipeline with render.renderer = "diffusion"); only the shown frames are
rendered.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from emotion import Emotion, EmotionState

DOCS = Path(__file__).resolve().parents[1] / "docs"
TEXT = "I hear you, and I want you to know that this really matters to me today."


def _cell(frame: np.ndarray, label: str, size: int) -> np.ndarray:
    img = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    bar = np.full((18, size, 3), 255, np.uint8)
    cv2.putText(bar, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def strip(checkpoint: Path, portrait: Path, cell: int = 160, steps: int = 4, device: str = "cpu") -> np.ndarray:
    """(rows x 5 cells) RGB: per emotion the coarse warp while speaking, two refined speaking
    frames and two refined listening frames."""
    from app.media import AvatarComponents
    from app.personas import get_persona
    from app.settings import Settings
    from avatar.pipeline import Listen, Say
    from avatar.render.diffusion import coarse_warp

    import shutil
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="warmchat-strip-"))   # avatars must live in the avatars dir
    base = Settings(data_dir=data)
    base.avatars_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(portrait, base.avatars_dir / portrait.name)
    render = base.render.model_copy(update={"renderer": "diffusion", "diffusion_checkpoint": str(checkpoint),
                                            "diffusion_steps": steps, "device": device})
    tts = base.tts.model_copy(update={"default_backend": "espeak"})
    settings = base.model_copy(update={"render": render, "tts": tts})
    persona = get_persona(settings.persona, settings.personas_dir)
    persona = persona.model_copy(update={"avatar": portrait.name, "voice": persona.voice.model_copy(update={"backend": "espeak"})})
    try:
        return _rows(AvatarComponents(settings).pipeline(persona), coarse_warp, Say, Listen, cell)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _rows(pipeline, coarse_warp, Say, Listen, cell: int) -> np.ndarray:
    renderer = pipeline.renderer
    rows = []
    for emo in Emotion:
        state = EmotionState.of(emo, 0.8)
        say = pipeline.make(Say(TEXT, state, seed=1))
        listen = pipeline.make(Listen(4.0, state, seed=2))
        n, m = say.motion.num_frames, listen.motion.num_frames
        i0 = int(np.argmax(say.motion.coeff("jawOpen")[n // 4: 3 * n // 4])) + n // 4   # an open mouth
        i1 = int(0.7 * n)
        w = renderer.warp
        pose, ex, gaze = say.motion.pose[i0], say.motion.expression[i0], say.motion.gaze[i0]
        pts = w.target_landmarks(pose, np.clip(ex[w.rig.columns], 0, 1), gaze)
        coarse = coarse_warp(w.portrait.image, w.portrait.landmarks.xy, pts)
        cells = [_cell(coarse, f"{emo.value}: warp only", cell),
                 _cell(renderer.render_frame(say.motion, i0), f"speaking {i0}", cell),
                 _cell(renderer.render_frame(say.motion, i1), f"speaking {i1}", cell),
                 _cell(renderer.render_frame(listen.motion, m // 3), f"listening {m // 3}", cell),
                 _cell(renderer.render_frame(listen.motion, 2 * m // 3), f"listening {2 * m // 3}", cell)]
        rows.append(np.hstack(cells))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("portrait", type=Path)
    p.add_argument("--steps", type=int, default=4, help="DDIM steps")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=DOCS / "strip_refiner.jpg", help="PNG or JPEG by suffix")
    a = p.parse_args(argv)
    img = strip(a.checkpoint, a.portrait, steps=a.steps, device=a.device)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
