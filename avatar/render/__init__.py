"""Renderers: motion in, RGB frames out. `make_renderer` picks one for an avatar."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from avatar.render.base import Renderer
from avatar.settings import RenderSettings

log = logging.getLogger(__name__)

AVATAR_DIR = Path(__file__).resolve().parents[2] / "assets" / "avatars"
BUILTIN_PHOTOS = {"astronaut": "astronaut.png", "hopper": "hopper.jpg"}
STYLIZED = "stylized"


def list_builtin_avatars() -> list[str]:
    """Names accepted by make_renderer besides a path to a portrait image."""
    return sorted(BUILTIN_PHOTOS) + [STYLIZED]


def resolve_avatar(avatar: str | Path) -> Path | None:
    """The portrait file for `avatar` (a built-in name or a path); None for the stylized avatar."""
    name = str(avatar)
    if name == STYLIZED:
        return None
    if name in BUILTIN_PHOTOS:
        return AVATAR_DIR / BUILTIN_PHOTOS[name]
    path = Path(avatar).expanduser()
    if not path.is_file():
        from avatar.face.landmarks import PortraitError

        raise PortraitError(f"unknown avatar {name!r}: not one of {list_builtin_avatars()} and no such file")
    return path


@functools.lru_cache(maxsize=8)
def _warp_renderers(path: str, mtime: float, size: int, cache_dir: str | None):
    """(the renderer of the photo's faces, the warp renderer of its face at rest)."""
    from avatar.face.portrait import load_portrait, relax_portrait, resting_smile
    from avatar.face.rig import rest_expression
    from avatar.render.rest import RestFaceRenderer
    from avatar.render.warp import WarpRenderer

    photo = load_portrait(path, size, cache_dir)
    # the face at rest: a smiling photo is relaxed, so every emotion can be shown on it ...
    relaxed = WarpRenderer(relax_portrait(photo))
    smile = resting_smile(photo)
    if smile is None:
        faces, warps = relaxed, (relaxed,)
    else:
        # ... but only as far as each frame's face asks: a smile keeps hers (avatar.render.rest)
        own = WarpRenderer(photo, rest_smile=smile)
        warps = (own, relaxed)
        closed = rest_expression(photo.landmarks)["gap"] < 0.01  # closed lips: the warp alone relaxes any share
        faces = own if closed else RestFaceRenderer(own, relaxed)
    _calibrate_rotation(faces, warps)
    return faces, relaxed


def _calibrate_rotation(faces, warps) -> None:
    """Set every warp's `rotation_gain` (one head: blended frames turn alike) so that the head
    `faces` renders turns as far as commanded (avatar.render.rotation)."""
    import numpy as np

    from avatar.motion.clip import ARKIT_NAMES
    from avatar.render.rotation import rotation_gains

    still, gaze = np.zeros(len(ARKIT_NAMES), np.float32), np.zeros(2, np.float32)
    gains = rotation_gains(lambda pose: faces.render_pose_expression(pose, still, gaze))
    for warp in warps:
        warp.rotation_gain = gains
    log.info("warp rotation gains (yaw, pitch) %.2f, %.2f", *gains)


def use_opencv_threads(threads: int) -> None:
    """Size OpenCV's process-wide thread pool (`RenderSettings.opencv_threads`; 0: its default)."""
    import cv2

    if threads > 0 and cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)


def make_renderer(avatar: str | Path, settings: RenderSettings, cache_dir: str | Path | None = None) -> Renderer:
    """A renderer for a built-in avatar ("astronaut", "hopper", "stylized") or a portrait path.

    settings.renderer "warp" (default) or "diffusion" (needs settings.diffusion_checkpoint).
    Sizes OpenCV's thread pool to settings.opencv_threads (process-wide: the renderers are its
    main users).
    Portrait analysis is cached in-process (and in `cache_dir` as .npz when given): the second
    renderer for the same avatar and size is built from memory. Renderers are stateless per frame,
    so sharing one between sessions is safe.
    Raises PortraitError for unusable portraits, ValueError for an unknown renderer.
    """
    use_opencv_threads(settings.opencv_threads)
    path = resolve_avatar(avatar)
    if path is None:
        from avatar.render.stylized import StylizedRenderer

        return StylizedRenderer(settings.size)
    if settings.renderer not in ("warp", "diffusion"):
        raise ValueError(f"unknown renderer {settings.renderer!r}: use 'warp' or 'diffusion'")
    faces, warp = _warp_renderers(str(path.resolve()), path.stat().st_mtime, settings.size,
                                  str(cache_dir) if cache_dir is not None else None)
    if settings.renderer == "warp":
        return faces
    # the diffusion refiner keeps refining the warp of the face at rest
    from avatar.render.diffusion import DiffusionRenderer

    return DiffusionRenderer.from_checkpoint(warp, settings.diffusion_checkpoint, settings.device,
                                             settings.diffusion_steps)


__all__ = ["Renderer", "list_builtin_avatars", "make_renderer", "resolve_avatar", "use_opencv_threads"]
