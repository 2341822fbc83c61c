"""Every audio input goes through one conversion (dialogue.asr.audio.to_mono_16k): integer PCM is
scaled to [-1, 1] before channels are mixed, whatever the integer type (issue 13, item 9)."""

import numpy as np
import pytest

from dialogue.asr import AudioError, read_recording, to_float32, to_mono_16k


def tone(n=16000, amp=0.25):
    return (amp * np.sin(np.arange(n) / 5)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint8])
def test_integer_stereo_is_scaled_before_mixing(dtype):
    info = np.iinfo(dtype)
    x = tone()
    if info.min == 0:
        ints = np.round(x * (info.max + 1) / 2 + (info.max + 1) / 2).astype(dtype)
    else:
        ints = np.round(x * -info.min).astype(dtype)
    stereo = np.stack([ints, ints], axis=1)
    mono = to_mono_16k(stereo, 16000)
    assert mono.dtype == np.float32 and mono.shape == (16000,)
    assert np.max(np.abs(mono - x)) < 2.0 / (info.max - info.min) + 1e-6


def test_float_is_kept_and_non_numbers_are_refused():
    x = tone()
    assert np.array_equal(to_float32(x.astype(np.float64)), x)
    with pytest.raises(AudioError, match="numbers"):
        to_float32(np.array(["a", "b"]))


def test_empty_and_corrupt_recordings_have_clear_messages(tmp_path):
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        read_recording(empty)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4)
    with pytest.raises(AudioError, match="corrupt.wav"):
        read_recording(corrupt)


def test_a_stereo_int16_file_reads_as_scaled_mono(tmp_path):
    import soundfile as sf

    x = tone(8000)
    path = tmp_path / "stereo.wav"
    ints = np.round(x * 32767).astype(np.int16)
    sf.write(path, np.stack([ints, ints], axis=1), 8000, subtype="PCM_16")
    mono = read_recording(path)
    assert mono.shape == (16000,) and 0.2 < float(np.max(np.abs(mono))) < 0.3
