"""What the server refuses to read for a persona (issue 13, items 2 and 3): avatars outside the
data dir, images too large to decode, emotion profiles named by a path."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from app.access import avatar_source
from avatar.face.landmarks import PortraitError


def huge_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid PNG header announcing width x height, with a few bytes of pixel data: what a
    decompression bomb looks like before it is decoded (the real one was 1.2 MB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def avatars(tmp_path) -> Path:
    folder = tmp_path / "data" / "avatars"
    folder.mkdir(parents=True)
    (folder / "ada.png").write_bytes(b"not decoded here")
    return folder


def test_an_avatar_is_a_builtin_or_a_portrait_in_the_avatars_folder(avatars):
    assert avatar_source("hopper", avatars) == "hopper"
    assert avatar_source("ada.png", avatars) == str((avatars / "ada.png").resolve())
    assert avatar_source(str(avatars / "ada.png"), avatars) == str((avatars / "ada.png").resolve())  # older personas


def test_other_files_are_refused_without_telling_whether_they_exist(avatars, tmp_path):
    outside = tmp_path / "face.png"
    outside.write_bytes(b"x")
    (avatars / "link.png").symlink_to(outside)
    messages = set()
    for bad in ("/etc/passwd", "/no/such/file.png", str(outside), "../face.png", "link.png", "", str(avatars)):
        with pytest.raises(PortraitError) as info:
            avatar_source(bad, avatars)
        messages.add(str(info.value).replace(repr(bad[:80]), "X"))
        assert "cannot read" not in str(info.value)
    assert len(messages) == 1  # one answer, whatever the file


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    import cv2

    from avatar.face.portrait import image_size, load_image

    bomb = huge_png(tmp_path / "bomb.png")
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("the pixels were decoded"))
    for read in (image_size, load_image):
        with pytest.raises(PortraitError, match="larger than the 36 megapixels a portrait may have"):
            read(bomb)
    with pytest.raises(PortraitError, match=r"larger \(7000x7000 pixels\) than"):  # below PIL's own limit
        image_size(huge_png(tmp_path / "big.png", 7000, 7000))
    assert image_size(huge_png(tmp_path / "ok.png", 640, 480)) == (640, 480)
    (tmp_path / "text.png").write_text("root:x:0:0")
    with pytest.raises(PortraitError, match="not an image this app reads"):
        image_size(tmp_path / "text.png")


def test_the_cli_render_path_size_checks_a_portrait_too(tmp_path, monkeypatch):
    """`warmchat render --avatar PATH` accepts the local user's file, size-checked before decoding."""
    import cv2

    from app.media import AvatarComponents
    from app.settings import Settings

    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("the pixels were decoded"))
    bomb = huge_png(tmp_path / "bomb.png")
    with pytest.raises(PortraitError, match="larger than the 36 megapixels"):
        AvatarComponents(Settings(data_dir=tmp_path / "data"), portraits_anywhere=True).renderer(str(bomb))
    with pytest.raises(PortraitError, match="neither a built-in avatar"):  # a persona's avatar: data dir only
        AvatarComponents(Settings(data_dir=tmp_path / "data")).renderer(str(bomb))


def test_a_profile_is_chosen_by_name_never_by_path(tmp_path):
    from emotion.builtin import get_profile
    from emotion.profile import ProfileError

    (tmp_path / "x.json").write_text('{"name": "x"}')  # what ../../x.json would reach
    user_dir = tmp_path / "a" / "b"
    user_dir.mkdir(parents=True)
    for bad in ("../../x", "/etc/passwd", "warm/../../x", "Warm", ""):
        with pytest.raises(ProfileError, match="invalid emotion profile name") as info:
            get_profile(bad, user_dir)
        assert str(Path(__file__).resolve().parents[3]) not in str(info.value)  # never the install path
    assert get_profile("warm", user_dir).name


def test_a_persona_names_its_profile():
    from pydantic import ValidationError

    from app.personas import Persona

    with pytest.raises(ValidationError, match="emotion_profile"):
        Persona(name="p", display_name="P", system_prompt="x", emotion_profile="../../../../x")
    assert Persona(name="p", display_name="P", system_prompt="x", emotion_profile="calm").emotion_profile == "calm"


def test_a_malformed_builtin_is_named_without_the_install_path(tmp_path, monkeypatch):
    from emotion import builtin
    from emotion.profile import ProfileError

    (tmp_path / "warm.json").write_text("{broken")
    monkeypatch.setattr(builtin, "builtin_profiles_dir", lambda: tmp_path)
    with pytest.raises(ProfileError) as info:
        builtin.get_profile("warm")
    assert str(info.value).startswith("built-in profile warm.json: not valid JSON") and str(tmp_path) not in str(info.value)
