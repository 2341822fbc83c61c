"""Load a portrait photo, crop and align it to a square around the head, analyse it once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avatar.face.landmarks import (CHIN, FOREHEAD, LEFT_EYE_OUTER, RIGHT_EYE_OUTER, FaceLandmarks,
                                   PortraitError, detect_landmarks)
from avatar.face.pose import HeadPose, estimate_pose

log = logging.getLogger(__name__)

CROP_FACE_HEIGHTS = 2.5   # crop side in forehead-to-chin heights: head, hair and some shoulders
CROP_CENTER_DOWN = 0.12   # crop centre below the face centre, in crop sides (room for shoulders)
ANALYSIS_SIZE = 512
# A portrait is size-checked from its header before it is decoded (image_size): decoding costs
# about 3 bytes a pixel several times over (decode, colour conversion, crop), so 36 MP is ~0.4 GB.
MAX_PORTRAIT_PIXELS = 36_000_000  # 6000 x 6000: any phone photo of a face fits
MAX_PORTRAIT_BYTES = 40 * 2**20


@dataclass(frozen=True, slots=True)
class Portrait:
    """A square, eye-level portrait and its analysis.

    image: (S, S, 3) uint8 RGB. landmarks: in this image's pixels. pose: the head pose in the photo.
    """

    image: np.ndarray
    landmarks: FaceLandmarks
    pose: HeadPose

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image file, read from its header without decoding the pixels, and
    checked against the limits (a small file can decode to gigabytes: 20000x20000 PNG, 1.2 MB).

    Raises:
        PortraitError: not a readable image file (PNG, JPEG, WebP, BMP, ...), a file over
            MAX_PORTRAIT_BYTES, or more than MAX_PORTRAIT_PIXELS pixels.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        n_bytes = path.stat().st_size
    except OSError:
        raise PortraitError(f"cannot read an image from {path.name}") from None
    if n_bytes > MAX_PORTRAIT_BYTES:
        raise PortraitError(f"the image is {n_bytes / 2**20:.0f} MB; portraits up to "
                            f"{MAX_PORTRAIT_BYTES // 2**20} MB are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by our limit
            with Image.open(path) as im:  # lazy: reads the header only
                width, height = im.size
    except Image.DecompressionBombError:
        width = height = None  # PIL's own limit is above ours: too large either way
    except (UnidentifiedImageError, OSError, ValueError):
        raise PortraitError(f"{path.name} is not an image this app reads (use PNG, JPEG or WebP)") from None
    if width is None or width * height > MAX_PORTRAIT_PIXELS:
        size = f" ({width}x{height} pixels)" if width is not None else ""
        raise PortraitError(f"the image is larger{size} than the {MAX_PORTRAIT_PIXELS / 1e6:.0f} megapixels a portrait "
                            "may have (6000x6000): scale it down first")
    return width, height


def load_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an image file, size-checked before decoding (`image_size`).

    Raises PortraitError if it is too large or cannot be read.
    """
    image_size(path)
    data = np.fromfile(str(path), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise PortraitError(f"cannot read an image from {Path(path).name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def crop_matrix(landmarks: FaceLandmarks, size: int) -> np.ndarray:
    """2x3 similarity taking the photo to a (size, size) crop, eyes level, face centred."""
    xy = landmarks.xy.astype(np.float64)
    eye = xy[LEFT_EYE_OUTER] - xy[RIGHT_EYE_OUTER]
    angle = np.degrees(np.arctan2(eye[1], eye[0]))
    center = 0.5 * (xy[FOREHEAD] + xy[CHIN])
    side = CROP_FACE_HEIGHTS * landmarks.face_height
    h, w = landmarks.image_size
    # stay inside the photo where possible (padding shows as streaks): shrink to fit, then shift
    side = min(side, max(min(h, w) - 1.0, 1.25 * landmarks.face_height))
    crop_c = center + [0.0, CROP_CENTER_DOWN * side]                   # crop centre in the photo
    crop_c = np.clip(crop_c, side / 2, np.array([w, h]) - side / 2) if side < min(h, w) else crop_c
    scale = size / side
    m = cv2.getRotationMatrix2D((float(crop_c[0]), float(crop_c[1])), angle, scale)
    m[:, 2] += np.array([size / 2.0, size / 2.0]) - crop_c
    return m


def make_portrait(image_rgb: np.ndarray, size: int) -> Portrait:
    """Detect the face, crop and align to (size, size), re-detect landmarks on the crop.

    Landmarks are found on a crop of at least ANALYSIS_SIZE pixels (small outputs would fall
    below the detector's useful face size) and scaled to `size`.
    """
    first = detect_landmarks(image_rgb)
    work = max(size, ANALYSIS_SIZE)
    m = crop_matrix(first, work)
    crop = cv2.warpAffine(image_rgb, m, (work, work), flags=cv2.INTER_AREA if m[0, 0] < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)
    try:
        lm = detect_landmarks(crop)
    except PortraitError:
        log.warning("re-detection on the crop failed; using the photo's landmarks")
        lm = first.transformed(m, (work, work))
    if work != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        lm = lm.transformed(np.array([[size / work, 0, 0], [0, size / work, 0]]), (size, size))
    return Portrait(crop, lm, estimate_pose(lm))


def load_portrait(source: str | Path | np.ndarray, size: int, cache_dir: str | Path | None = None) -> Portrait:
    """A Portrait from an image path or an RGB array, analysed once per (image, size).

    With `cache_dir`, the crop and its landmarks are stored as an .npz keyed by the image's hash,
    so building a renderer for the same avatar again skips face detection.
    """
    image = load_image(source) if not isinstance(source, np.ndarray) else source
    cache = None
    if cache_dir is not None:
        digest = hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest()[:16]
        cache = Path(cache_dir) / f"portrait_{digest}_{size}.npz"
        if cache.is_file():
            with np.load(cache) as z:
                lm = FaceLandmarks(z["points"], (size, size))
                return Portrait(z["image"], lm, estimate_pose(lm))
    portrait = make_portrait(image, size)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, image=portrait.image, points=portrait.landmarks.points)
        tmp.replace(cache)
    return portrait


@dataclass(frozen=True, slots=True)
class RestSmile:
    """A portrait's own resting smile, which the renderer keeps as far as a frame's face smiles.

    level: the photo's mouthSmile level in (0, 1] (rig.rest_expression). displacement: (478, 2)
    float32 pixels of the landmarks that relax it (rig.relax_displacement at `level`). softened:
    (S, S, 3) uint8, the photo with its smile creases softened (portrait.soften_smile_folds).
    """

    level: float
    displacement: np.ndarray
    softened: np.ndarray

    def relax_share(self, smile: float) -> float:
        """How much of the resting smile a frame whose face smiles `smile` (mouthSmile in [0, 1])
        relaxes: all of it at no smile, none at the photo's own level or above."""
        return float(np.clip((self.level - smile) / self.level, 0.0, 1.0))


def resting_smile(portrait: Portrait) -> RestSmile | None:
    """The portrait's resting smile (rig.rest_expression) as the renderer keeps it, or None for a
    face photographed without one (smile under 0.05)."""
    from avatar.face.rig import relax_displacement, rest_expression

    level = rest_expression(portrait.landmarks)["smile"]
    if level < 0.05:
        return None
    disp = relax_displacement(portrait.landmarks, {"smile": level})
    return RestSmile(level, disp, soften_smile_folds(portrait.image, portrait.landmarks, level))


def relax_portrait(portrait: Portrait) -> Portrait:
    """The portrait with its own expression relaxed (rig.rest_expression): a photo that smiles
    with open lips becomes a face at rest, so that sad, angry or afraid can be shown on it.

    Open lips are closed first (`close_lips`), then most of the smile is undone by a thin-plate
    spline warp through all landmarks (the landmarks move with the image), and the creases the
    smile left at the mouth corners and along the cheeks are softened (`soften_smile_folds`). A
    portrait already at rest comes back unchanged.
    """
    from avatar.face.rig import relax_displacement, rest_expression
    from avatar.render.field import warp_to_points

    lm = portrait.landmarks
    rest = rest_expression(lm)
    if rest["smile"] < 0.05 and rest["gap"] < 0.01:
        return portrait
    log.info("relaxing the portrait's resting expression: smile %.2f, lip gap %.3f eye distances",
             rest["smile"], rest["gap"])
    image, points = portrait.image, lm.points.copy()
    if rest["gap"] >= 0.01:
        image, points = close_lips(image, points)
    lm = FaceLandmarks(points, lm.image_size)
    disp = relax_displacement(lm, {"smile": rest["smile"]})
    image = warp_to_points(image, lm.xy, lm.xy + disp, cells=128)
    points[:, :2] += disp
    moved = FaceLandmarks(points, lm.image_size)
    image = soften_smile_folds(image, moved, rest["smile"])
    return Portrait(image, moved, estimate_pose(moved))


# Where a smile creases the skin (mediapipe landmarks): the mouth corners, and the cheek beside
# the nasolabial fold and below it. The warp cannot move a crease away, and FER2013 reads an
# up-curved crease at a closed mouth's corners as a smile (bench/expression.py: the astronaut's
# relaxed face read happy 0.99 with its corners level; with the creases softened, neutral).
SMILE_FOLDS = (61, 291, 206, 426, 216, 436)
FOLD_REACH = 0.14   # eye distances: Gaussian reach of the softening about each crease landmark
FOLD_BLUR = 0.06    # eye distances: the blur that takes the crease out (skin shading stays)


def soften_smile_folds(image: np.ndarray, landmarks: FaceLandmarks, smile: float) -> np.ndarray:
    """`image` with the creases of a resting smile (`smile` in [0, 1], rig.rest_expression)
    blurred away: around each SMILE_FOLDS landmark the image is blended towards a blurred copy by
    up to `smile` (a Gaussian weight of reach FOLD_REACH). `smile` 0 returns the image unchanged."""
    k = float(np.clip(smile, 0.0, 1.0))
    if k <= 0.0:
        return image
    unit = landmarks.eye_distance
    pts = landmarks.xy[list(SMILE_FOLDS)]
    pad = 3.0 * FOLD_REACH * unit
    h, w = image.shape[:2]
    x0, y0 = int(max(0, pts[:, 0].min() - pad)), int(max(0, pts[:, 1].min() - pad))
    x1, y1 = int(min(w, pts[:, 0].max() + pad + 1)), int(min(h, pts[:, 1].max() + pad + 1))
    if x1 <= x0 or y1 <= y0:
        return image
    roi = image[y0:y1, x0:x1].astype(np.float32)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    weight = np.zeros(roi.shape[:2], np.float32)
    for x, y in pts:
        np.maximum(weight, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * (FOLD_REACH * unit) ** 2)), out=weight)
    weight = (k * weight)[..., None]
    # blur the whole image's neighbourhood so the ROI's edge sees real pixels, not a border
    blurred = cv2.GaussianBlur(image, (0, 0), FOLD_BLUR * unit)[y0:y1, x0:x1].astype(np.float32)
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(roi + weight * (blurred - roi) + 0.5, 0, 255).astype(np.uint8)
    return out


UPPER_SHARE = 0.4  # a closing mouth: the upper lip comes down 40 % of the gap, the lower lip up 60 %


def close_lips(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Close a mouth photographed open: per image column, the band from above the upper lip to the
    upper inner lip is stretched down to a seam, and the band from the lower inner lip to below
    the lower lip is stretched up to it, so the lips meet and the teeth between them are gone.

    image: (S, S, 3) uint8; points: (478, 3) landmarks. Returns the new image and landmarks (the
    inner lips moved onto the seam, the rest of the face unchanged).
    """
    from avatar.face.landmarks import LOWER_INNER, LOWER_OUTER, UPPER_INNER, UPPER_OUTER

    xy = points[:, :2].astype(np.float64)
    unit = float(np.linalg.norm(xy[LEFT_EYE_OUTER] - xy[RIGHT_EYE_OUTER]))

    def curve(idx):
        p = xy[list(idx)]
        o = np.argsort(p[:, 0])
        return p[o, 0], p[o, 1]

    (ux, uy), (lx, ly) = curve(UPPER_INNER), curve(LOWER_INNER)
    (uox, uoy), (lox, loy) = curve(UPPER_OUTER), curve(LOWER_OUTER)
    x0, x1 = int(np.floor(min(ux.min(), lx.min()))), int(np.ceil(max(ux.max(), lx.max()))) + 1
    xs = np.arange(x0, x1, dtype=np.float64)
    y_u, y_l = np.interp(xs, ux, uy), np.interp(xs, lx, ly)
    gap = np.maximum(y_l - y_u, 0.0)
    seam = y_u + UPPER_SHARE * gap
    top = np.interp(xs, uox, uoy) - 0.12 * unit                   # above the upper lip, in the skin
    bottom = np.interp(xs, lox, loy) + 0.25 * unit                # below the lower lip, towards the chin
    y0, y1 = int(np.floor(top.min())), int(np.ceil(bottom.max())) + 1
    ys = np.arange(y0, y1, dtype=np.float64)[:, None]             # (H, 1)
    src = np.broadcast_to(ys, (len(ys), len(xs))).copy()
    # output rows [top, seam] sample [top, y_u]; rows [seam, bottom] sample [y_l, bottom]
    up = (ys >= top) & (ys <= seam)
    t = (ys - top) / np.maximum(seam - top, 1e-6)
    src = np.where(up, top + t * (y_u - top), src)
    lo = (ys > seam) & (ys <= bottom)
    t = (ys - seam) / np.maximum(bottom - seam, 1e-6)
    src = np.where(lo, y_l + t * (bottom - y_l), src)
    map_y = src.astype(np.float32)
    map_x = np.broadcast_to(xs[None, :], map_y.shape).astype(np.float32)
    out = image.copy()
    h, w = image.shape[:2]
    ya, yb, xa, xb = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    patch = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out[ya:yb, xa:xb] = patch[ya - y0:yb - y0, xa - x0:xb - x0]
    moved = points.copy()
    for i in set(UPPER_INNER) | set(LOWER_INNER):
        moved[i, 1] = np.interp(xy[i, 0], xs, seam)
    return out, moved
