"""Dense displacement fields on a coarse grid: thin-plate-spline bases and their inversion.

A thin-plate spline through fixed centres is linear in the values at the centres, so for one
portrait we precompute E = (G, N): the field on the G coarse grid points produced by unit values at
the N centres. A frame's field is then E @ values (or a sum of precomputed basis fields).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def grid_points(size: int, cells: int) -> np.ndarray:
    """(cells*cells, 2) pixel positions (x, y) of a coarse grid aligned with cv2.resize to `size`."""
    c = (np.arange(cells) + 0.5) * size / cells - 0.5
    gx, gy = np.meshgrid(c, c)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return 0.5 * r2 * np.log(np.maximum(r2, 1e-12))


def tps_operator(centers: np.ndarray, points: np.ndarray, scale: float, smooth: float = 1e-4) -> np.ndarray:
    """(P, N) matrix mapping values at `centers` (N, 2) to the smoothing TPS at `points` (P, 2).

    Coordinates are divided by `scale` (the image size) for conditioning; `smooth` regularises
    near-coincident centres that carry different values (closed lips).
    """
    c = centers / scale
    p = points / scale
    n = len(c)
    k = _tps_kernel(c, c) + smooth * np.eye(n)
    pc = np.hstack([np.ones((n, 1)), c])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, pc, pc.T
    a_inv = np.linalg.inv(a)[:, :n]                                     # (N+3, N)
    kp = np.hstack([_tps_kernel(p, c), np.ones((len(p), 1)), p])        # (P, N+3)
    return (kp @ a_inv).astype(np.float32)


@lru_cache(maxsize=8)
def _cell_coordinates(cells: int) -> np.ndarray:
    """(cells, cells, 2) float32 (x, y) of each coarse grid point in cells (read-only)."""
    base = np.ascontiguousarray(np.indices((cells, cells), dtype=np.float32)[::-1].transpose(1, 2, 0))
    base.flags.writeable = False
    return base


def invert_on_grid(forward: np.ndarray, cell_px: float, iterations: int = 2) -> np.ndarray:
    """Backward field on the coarse grid: B(p) = F(p - B(p)); `cell_px` = pixels per grid cell."""
    base = _cell_coordinates(forward.shape[0])
    back = forward
    for _ in range(iterations):
        src = cv2.scaleAdd(back, -1.0 / cell_px, base)                      # base - back / cell_px
        back = cv2.remap(forward, src, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return back


def warp_to_points(image: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, cells: int = 32,
                   smooth: float = 1e-3) -> np.ndarray:
    """Warp `image` so that its points `src_pts` (N, 2) land on `dst_pts` (N, 2) (same pixels as the
    output, which has the image's size); the border stays put. A backward TPS on a coarse grid;
    `smooth` regularises it (smaller: the points are met more exactly)."""
    h, w = image.shape[:2]
    size = max(h, w)
    t = np.linspace(0, size - 1, 7)
    border = np.concatenate([np.stack([t, np.zeros_like(t)], 1), np.stack([t, np.full_like(t, size - 1)], 1),
                             np.stack([np.zeros_like(t[1:-1]), t[1:-1]], 1),
                             np.stack([np.full_like(t[1:-1], size - 1), t[1:-1]], 1)])
    centers = np.concatenate([dst_pts, border])
    values = np.concatenate([src_pts - dst_pts, np.zeros_like(border)]).astype(np.float32)
    op = tps_operator(centers.astype(np.float64), grid_points(size, cells), size, smooth=smooth)
    back = (op @ values).reshape(cells, cells, 2)
    up = cv2.resize(back, (size, size), interpolation=cv2.INTER_LINEAR)[:h, :w]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + up[..., 0], ys + up[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
