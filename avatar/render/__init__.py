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
def _warp_renderer(path: str, mtime: float, size: int, cache_dir: str | None):
    from avatar.face.portrait import load_portrait, relax_portrait
    from avatar.render.warp import WarpRenderer

    # the face at rest: a smiling photo is relaxed first, so every emotion can be shown on it
    return WarpRenderer(relax_portrait(load_portrait(path, size, cache_dir)))


def make_renderer(avatar: str | Path, settings: RenderSettings, cache_dir: str | Path | None = None) -> Renderer:
    """A renderer for a built-in avatar ("astronaut", "hopper", "stylized") or a portrait path.

    settings.renderer "warp" (default) or "diffusion" (needs settings.diffusion_checkpoint).
    Portrait analysis is cached in-process (and in `cache_dir` as .npz when given): the second
    renderer for the same avatar and size is built from memory. Renderers are stateless per frame,
    so sharing one between sessions is safe.
    Raises PortraitError for unusable portraits, ValueError for an unknown renderer.
    """
    path = resolve_avatar(avatar)
    if path is None:
        from avatar.render.stylized import StylizedRenderer

        return StylizedRenderer(settings.size)
    if settings.renderer not in ("warp", "diffusion"):
        raise ValueError(f"unknown renderer {settings.renderer!r}: use 'warp' or 'diffusion'")
    warp = _warp_renderer(str(path.resolve()), path.stat().st_mtime, settings.size,
                          str(cache_dir) if cache_dir is not None else None)
    if settings.renderer == "warp":
        return warp
    from avatar.render.diffusion import DiffusionRenderer

    return DiffusionRenderer.from_checkpoint(warp, settings.diffusion_checkpoint, settings.device,
                                             settings.diffusion_steps)


__all__ = ["Renderer", "list_builtin_avatars", "make_renderer", "resolve_avatar"]
