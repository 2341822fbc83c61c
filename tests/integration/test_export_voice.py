"""Export of a spoken conversation: the person's recorded voice plays while the avatar listens,
and the listening motion is made from that voice. Real TTS (espeak), teacher motion, the stylized
renderer, the real encoder and muxer."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from app.export import export_path
from app.settings import Settings
from avatar.settings import MotionSettings, RenderSettings
from dialogue.store import ConversationStore
from dialogue.turns import AvatarRole, Speaker, Turn, TurnMedia
from emotion import EmotionState

pytestmark = pytest.mark.integration
if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed", allow_module_level=True)

PERSONA = '''name = "tester"
display_name = "Tess"
system_prompt = "You are Tess."
greeting = "Hello there."
avatar = "stylized"
emotion_profile = "warm"

[voice]
backend = "espeak"
'''


def person_voice(sr=48000):
    """2.6 s of a voice-like signal at 48 kHz: talk, a 0.6 s pause, talk."""
    t = np.arange(int(1.0 * sr)) / sr
    talk = (0.3 * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    return np.concatenate([talk, np.zeros(int(0.6 * sr), np.float32), talk]), sr


def decode_audio(path):
    import av

    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        res = av.AudioResampler(format="flt", layout="mono", rate=16000)
        parts = [o.to_ndarray().reshape(-1) for f in c.decode(a) for o in res.resample(f)]
    return np.concatenate(parts), 16000


def envelope(pcm, sr, hop_s=0.05):
    hop = int(sr * hop_s)
    n = len(pcm) // hop
    return np.sqrt((pcm[:n * hop].reshape(n, hop) ** 2).mean(axis=1))


def test_export_plays_the_persons_voice_while_the_avatar_listens(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", motion=MotionSettings(generator="teacher"),
                        render=RenderSettings(size=128))
    settings.personas_dir.mkdir(parents=True, exist_ok=True)
    (settings.personas_dir / "tester.toml").write_text(PERSONA, encoding="utf-8")
    pcm, sr = person_voice()
    cid = "c0ffee"
    with ConversationStore(settings.db_path) as store:
        store.create(cid, "spoken", "tester")
        root = Turn(speaker=Speaker.AVATAR, avatar_role=AvatarRole.SPEAKING, text="Hello there.")
        store.save_turn(cid, root, root.id)
        user = Turn(parent=root.id, speaker=Speaker.USER, avatar_role=AvatarRole.LISTENING, text="I went for a walk.",
                    emotion=EmotionState.of("happy", 0.6))
        folder = f"media/{cid}/{user.id}"
        (settings.data_dir / folder).mkdir(parents=True)
        sf.write(settings.data_dir / folder / "voice.wav", pcm, sr, subtype="PCM_16")
        user = user.model_copy(update={"media": TurnMedia(dir=folder, audio=f"{folder}/voice.wav")})
        store.save_turn(cid, user, user.id)

    result = export_path(settings, cid, tmp_path / "out")
    transcript = json.loads(result.json.read_text())
    spoken = next(t for t in transcript["turns"] if t["speaker"] == "user")
    assert spoken["end_s"] - spoken["start_s"] == pytest.approx(len(pcm) / sr + 0.6, abs=0.05)

    audio, asr = decode_audio(result.mp4)
    a, b = int(spoken["start_s"] * asr), int(spoken["end_s"] * asr)
    heard = envelope(audio[a:b], asr)
    said = envelope(pcm, sr)
    n = min(len(heard), len(said))
    assert heard[:n].max() > 0.1  # the voice is there, not silence
    assert np.corrcoef(heard[:n], said[:n])[0, 1] > 0.9  # at its place and speed (48 kHz among espeak's rate)
    # the avatar's own reply audio is still there before it
    assert envelope(audio[:a], asr).max() > 0.02
