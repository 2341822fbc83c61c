"""Frame strips of every built-in avatar, cut from real `warmchat render` clips: one row per
emotion (intensity 0.8, the default persona's voice and profile, the shipped motion generator),
three frames from the middle of each clip, labelled with what the FER2013 judge reads there
(bench/judges.py; "-" where it is not installed).

Run: python -m bench.strips [AVATAR ...]  -> docs/strip_<avatar>.png
     python -m bench.strips --listening [AVATAR ...]  -> docs/strip_listening_<avatar>.png (the avatar
     listening to a person feeling each emotion, intensity 0.8, the profile's mirroring)
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from emotion import Emotion, EmotionState

log = logging.getLogger(__name__)
DOCS = Path(__file__).resolve().parents[1] / "docs"
TEXT = "I hear you, and I want you to know that this really matters to me today."
AVATARS = ("astronaut", "hopper", "stylized")


def decode(path: Path) -> list[np.ndarray]:
    """All video frames of an MP4, RGB uint8."""
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _judge():
    try:
        from bench.judges import FER_LABELS, FERJudge, face_box
    except ImportError:
        return None
    try:
        fer = FERJudge()
    except ImportError:
        return None

    def read(frame: np.ndarray) -> str:
        box = face_box(frame)
        return FER_LABELS[int(np.argmax(fer.probs(frame, box)))] if box else "no face"
    return read


def _row(frames: list[np.ndarray], title: str, read, cell: int) -> np.ndarray:
    """Three frames from the middle of a clip, each over a caption (the first one's is `title`)."""
    n = len(frames)
    tiles = []
    for k, i in enumerate((int(0.35 * n), int(0.5 * n), int(0.65 * n))):
        img = cv2.resize(frames[i], (cell, cell), interpolation=cv2.INTER_AREA)
        bar = np.full((20, cell, 3), 255, np.uint8)
        label = title if k == 0 else f"frame {i}"
        if read is not None:
            label += f"  FER: {read(frames[i])}"
        cv2.putText(bar, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([bar, img]))
    return np.hstack(tiles)


def strip(avatar: str, cell: int = 200, intensity: float = 0.8, listening: bool = False) -> np.ndarray:
    """(rows x cells) RGB grid: a row per emotion, three middle frames of its rendered clip.

    listening: the avatar listening for 6 s to a person feeling each emotion (the listening clip
    the app plays, made by the same pipeline as export's listening segments), instead of saying TEXT."""
    from app.media import AvatarComponents
    from app.personas import get_persona
    from app.settings import Settings
    from avatar.pipeline import Continuity, Listen, Mp4File

    settings = Settings()
    components = AvatarComponents(settings)
    persona = get_persona(settings.persona, settings.personas_dir).model_copy(update={"avatar": avatar})
    read = _judge() if avatar != "stylized" else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for emo in Emotion:
            out = Path(tmp) / f"{emo.value}.mp4"
            if listening:
                pipeline = components.pipeline(persona)
                next(pipeline.stream([Listen(6.0, EmotionState.of(emo, intensity), seed=11)], Continuity(),
                                     Mp4File(pipeline, out)))
                title = f"hears {emo.value} {intensity}"
            else:
                components.say_to_file(TEXT, EmotionState.of(emo, intensity), persona, out)
                title = f"{emo.value} {intensity}"
            rows.append(_row(decode(out), title, read, cell))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO)
    args = list(argv if argv is not None else sys.argv[1:])
    listening = "--listening" in args
    names = [a for a in args if a != "--listening"] or list(AVATARS)
    DOCS.mkdir(exist_ok=True)
    for name in names:
        out = DOCS / (f"strip_listening_{name}.png" if listening else f"strip_{name}.png")
        cv2.imwrite(str(out), cv2.cvtColor(strip(name, listening=listening), cv2.COLOR_RGB2BGR))
        log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
