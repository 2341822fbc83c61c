"""Video: H.264/AAC encoding, streamed MP4 segments, sample-exact muxing with soft subtitles."""

from avatar.video.encode import encode_mp4, probe
from avatar.video.mux import add_subtitles, concat_mp4, exact_audio
from avatar.video.stream import stream_segments

__all__ = ["add_subtitles", "concat_mp4", "encode_mp4", "exact_audio", "probe", "stream_segments"]
