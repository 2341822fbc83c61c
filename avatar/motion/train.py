"""Train the motion generator on teacher motion over synthesized speech (`warmchat train-motion`).

    corpus = build_corpus(n_sentences)            # espeak-ng speech -> teacher motion, both roles
    model  = MotionModel(cfg); fit(model, corpus)  # windows of W frames with K frames of context
    save_checkpoint(model, path)                   # fp16 weights + config + normalisation stats
"""

from __future__ import annotations

import argparse
import sys
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avatar.motion.base import MotionRequest
from avatar.motion.clip import ARKIT_INDEX, Role
from avatar.motion.conditioning import LABEL_NAMES, N_CUES, Conditioning, build_conditioning, motion_array, window_slices
from avatar.motion.corpus import Speaker, join_speech, make_sentences, synthesize_corpus
from avatar.motion.model import MOTION_DIM, MotionConfig, MotionModel, kl_divergence, motion_loss
from avatar.motion.teacher import teacher_motion
from avatar.motion.visemes import MOUTH_COLUMNS
from emotion import Emotion, EmotionState
from emotion.profile import EmotionProfile

log = logging.getLogger(__name__)

# The expression dictionary the corpus is made with (speaker table; the listener table is softer).
_FACES: dict[Emotion, dict[str, float]] = {
    Emotion.NEUTRAL: {},
    Emotion.HAPPY: {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4, "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2},
    Emotion.SAD: {"browInnerUp": 0.6, "mouthFrownLeft": 0.5, "mouthFrownRight": 0.5, "mouthShrugLower": 0.2},
    Emotion.ANGRY: {"browDownLeft": 0.7, "browDownRight": 0.7, "mouthPressLeft": 0.3, "mouthPressRight": 0.3, "noseSneerLeft": 0.3, "noseSneerRight": 0.3},
    Emotion.SURPRISED: {"browInnerUp": 0.7, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7, "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "jawOpen": 0.1},
    Emotion.FEARFUL: {"browInnerUp": 0.7, "eyeWideLeft": 0.5, "eyeWideRight": 0.5, "mouthStretchLeft": 0.4, "mouthStretchRight": 0.4},
    Emotion.DISGUSTED: {"noseSneerLeft": 0.6, "noseSneerRight": 0.6, "mouthUpperUpLeft": 0.4, "mouthUpperUpRight": 0.4, "browDownLeft": 0.3, "browDownRight": 0.3},
}
CORPUS_PROFILE = EmotionProfile(
    name="corpus", speaker=_FACES, listener={e: {k: 0.6 * w for k, w in f.items()} for e, f in _FACES.items()})


@dataclass(frozen=True, slots=True)
class Sample:
    cond: Conditioning
    motion: np.ndarray  # (T, 60)


def build_corpus(n_sentences: int, seed: int = 0, speaker: Speaker | None = None,
                 exclude: set[str] = frozenset()) -> list[Sample]:
    """Teacher motion over synthesized speech: utterances of 1-4 sentences joined by pauses, each
    used twice: once SPEAKING (own speech) and once LISTENING (the same speech as the partner's),
    with random emotions (all 7 labels), intensities, expressiveness and mirroring; plus a few idle
    listening clips without speech. `exclude` drops sentences (e.g. held-out ones)."""
    rng = np.random.default_rng(seed)
    sentences = [s for s in make_sentences(n_sentences, seed) if s not in exclude]
    clips = list(synthesize_corpus(sentences, speaker))
    samples: list[Sample] = []
    i = 0
    while i < len(clips):
        k = int(rng.integers(1, 5))
        group = clips[i:i + k]
        i += k
        speech = join_speech(group, [float(rng.uniform(0.25, 1.2)) for _ in group])
        for role in (Role.SPEAKING, Role.LISTENING):
            emotion = EmotionState.of(list(Emotion)[int(rng.integers(len(Emotion)))], float(rng.uniform(0.3, 1.0)))
            profile = CORPUS_PROFILE.model_copy(update={
                "expressiveness": float(rng.uniform(0.6, 1.3)), "mirroring": float(rng.uniform(0.2, 1.0))})
            req = MotionRequest(role, emotion, profile, speech=speech, seed=int(rng.integers(2**31)))
            motion = motion_array(teacher_motion(req))
            samples.append(Sample(build_conditioning(speech, len(motion), role, emotion), motion))
        if rng.random() < 0.1:  # idle listening (the partner types)
            emotion = EmotionState.of(list(Emotion)[int(rng.integers(len(Emotion)))], float(rng.uniform(0.3, 1.0)))
            req = MotionRequest(Role.LISTENING, emotion, CORPUS_PROFILE, duration_s=float(rng.uniform(4, 12)),
                                seed=int(rng.integers(2**31)))
            motion = motion_array(teacher_motion(req))
            samples.append(Sample(build_conditioning(None, len(motion), Role.LISTENING, emotion), motion))
    return samples


def set_normalisation(model: MotionModel, samples: list[Sample]) -> None:
    """Mel and motion mean/std from the corpus (std floors keep near-constant channels sane)."""
    mel = np.concatenate([s.cond.mel for s in samples])
    mot = np.concatenate([s.motion for s in samples])
    floor = np.full(MOTION_DIM, 0.05, np.float32)
    floor[:8] = 0.005
    with torch.no_grad():
        model.mel_mean.copy_(torch.from_numpy(mel.mean(0)))
        model.mel_std.copy_(torch.from_numpy(mel.std(0) + 1e-3))
        model.motion_mean.copy_(torch.from_numpy(mot.mean(0)))
        model.motion_std.copy_(torch.from_numpy(np.maximum(mot.std(0), floor)))


def channel_weights(head: float = 2.0) -> torch.Tensor:
    """(60,) loss weights: mouth (lip sync) and head rotation (nods) matter most; blinks are
    re-added post hoc."""
    w = torch.ones(MOTION_DIM)
    w[:3] = head  # head rotation
    w[6:8] = 0.5  # gaze
    w[8 + torch.as_tensor(MOUTH_COLUMNS)] = 3.0
    for name in ("eyeBlinkLeft", "eyeBlinkRight"):
        w[8 + ARKIT_INDEX[name]] = 0.3
    return w


def make_batch(samples: list[Sample], cfg: MotionConfig, batch_size: int, rng: np.random.Generator,
               viseme_dropout: float = 0.3) -> dict[str, torch.Tensor]:
    """A batch of random windows (any offset; the end may run into silence padding)."""
    lengths = np.array([len(s.motion) for s in samples], np.float64)
    picks = rng.choice(len(samples), size=batch_size, p=lengths / lengths.sum())
    cols: dict[str, list] = {k: [] for k in ("mel", "vis", "ctx", "tgt", "has", "role", "emo", "inten")}
    for i in picks:
        s = samples[i]
        start = int(rng.integers(0, max(len(s.motion) - cfg.window // 2, 1)))
        mel, vis, ctx, tgt = window_slices(s.cond, s.motion, start, cfg.context, cfg.window)
        has = float(s.cond.has_visemes and rng.random() >= viseme_dropout)
        for k, v in zip(cols, (mel, vis, ctx, tgt, has, s.cond.role, s.cond.emotion, s.cond.intensity)):
            cols[k].append(v)
    out = {k: torch.from_numpy(np.stack(cols[k])) for k in ("mel", "vis", "ctx", "tgt")}
    out["has"] = torch.tensor(cols["has"], dtype=torch.float32)
    out["role"] = torch.tensor(cols["role"])
    out["emo"] = torch.tensor(cols["emo"])
    out["inten"] = torch.tensor(cols["inten"], dtype=torch.float32)
    return out


def pause_weights(model: MotionModel, b: dict[str, torch.Tensor], weights: torch.Tensor,
                  pause_boost: float) -> torch.Tensor:
    """(B, W, 60) channel weights with the pitch (nod) weight x (1 + pause_boost) on LISTENING frames
    inside the partner's pauses (speech cue 1): nods are rare events that a plain MSE averages away."""
    cfg = model.cfg
    w = weights.expand(b["tgt"].shape[0], cfg.window, -1).clone()
    if pause_boost > 0 and cfg.n_cues >= 2:
        in_pause = b["mel"][:, cfg.context:, cfg.n_mels + 1] * (b["role"] == 1).float()[:, None]
        w[..., 1] = w[..., 1] * (1.0 + pause_boost * in_pause)
    return w


def step_loss(model: MotionModel, b: dict[str, torch.Tensor], weights: torch.Tensor, kl_weight: float,
              pause_boost: float = 0.0, prior_frac: float = 0.0, nod_weight: float = 0.0):
    """Training loss of a batch. A fraction `prior_frac` of its windows decode prior latents instead
    of posterior ones (LISTENING windows only): without that the posterior latent absorbs rare, conditioning-driven events
    (listening nods at the partner's pauses) and prior samples at inference place them at random."""
    listening = b["role"] == 1
    prior_mask = (torch.rand(b["tgt"].shape[0]) < prior_frac) & listening if prior_frac > 0 else None
    pred, mu, logvar = model(b["mel"], b["vis"], b["has"], b["role"], b["emo"], b["inten"], b["ctx"], target=b["tgt"],
                             prior_mask=prior_mask)
    rec, vel = motion_loss(pred, b["tgt"], b["ctx"], model, pause_weights(model, b, weights, pause_boost))
    kl = kl_divergence(mu, logvar)
    loss = rec + vel + kl_weight * kl
    if nod_weight > 0 and model.cfg.n_cues >= 3:
        loss = loss + nod_weight * nod_peak_loss(model, b, pred)
    return loss, (rec.item(), vel.item(), kl.item())


def nod_peak_loss(model: MotionModel, b: dict[str, torch.Tensor], pred: torch.Tensor) -> torch.Tensor:
    """Squared error of the nod peak in the partner's pauses (LISTENING windows): the highest
    high-passed pitch (pitch minus its 1-s moving average, normalised units) over the window's
    pause frames, predicted vs teacher. MSE alone smears randomly timed nods into a bump too flat
    to read as a nod; this asks for a nod of the teacher's height somewhere in the pause."""
    cfg = model.cfg
    K, M = cfg.context, cfg.n_mels
    cues = b["mel"][:, K:, M:M + 3]
    mask = (cues[..., 1] > 0) & (cues[..., 2] >= 0.1) & (b["role"] == 1)[:, None]  # (B, W)
    valid = mask.any(1)
    if not valid.any():
        return pred.new_zeros(())

    def highpass(x):  # (B, W) -> (B, W)
        avg = torch.nn.functional.avg_pool1d(x[:, None], 25, stride=1, padding=12, count_include_pad=False)[:, 0]
        return x - avg

    hp_p = highpass(model.normalise(pred)[..., 1])
    hp_t = highpass(model.normalise(b["tgt"])[..., 1])
    neg = torch.finfo(pred.dtype).min
    peak_p = hp_p.masked_fill(~mask, neg).amax(1)
    peak_t = hp_t.masked_fill(~mask, neg).amax(1)
    return ((peak_p - peak_t)[valid] ** 2).mean()


def fit(model: MotionModel, train: list[Sample], val: list[Sample], minutes: float, batch_size: int = 32,
        lr: float = 2e-3, kl_weight: float = 0.01, seed: int = 0, max_steps: int = 0,
        head_weight: float = 6.0, pause_boost: float = 2.0, prior_frac: float = 0.5,
        nod_weight: float = 0.2) -> dict:
    """AdamW with a warm-up and cosine decay over a wall-clock budget (or max_steps)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    weights = channel_weights(head_weight)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    val_batches = [make_batch(val, model.cfg, 64, np.random.default_rng(1000 + i), 0.0) for i in range(2)]
    budget, t0, step, hist = minutes * 60.0, time.time(), 0, {}
    bar = tqdm(total=max_steps or None, unit="step", desc="train-motion")
    while True:
        frac = step / max_steps if max_steps else (time.time() - t0) / budget
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, step / 100 + 0.01) * 0.5 * (1 + math.cos(math.pi * frac))
        model.train()
        loss, (rec, vel, kl) = step_loss(model, make_batch(train, model.cfg, batch_size, rng), weights,
                                         kl_weight * min(1.0, frac * 5), pause_boost, prior_frac, nod_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        if step % 100 == 0:
            hist = {"step": step, "loss": loss.item(), "rec": rec, "vel": vel, "kl": kl, "val": evaluate(model, val_batches, weights)}
            bar.set_postfix({k: f"{v:.3f}" for k, v in hist.items() if k != "step"})
    bar.close()
    hist = {"step": step, "minutes": (time.time() - t0) / 60, "val": evaluate(model, val_batches, weights),
            **{k: v for k, v in hist.items() if k not in ("step", "val")}}
    return hist


@torch.no_grad()
def evaluate(model: MotionModel, batches: list[dict[str, torch.Tensor]], weights: torch.Tensor) -> float:
    """Validation reconstruction + velocity loss with z from the PRIOR (how inference runs)."""
    model.eval()
    total = 0.0
    for b in batches:
        pred, _, _ = model(b["mel"], b["vis"], b["has"], b["role"], b["emo"], b["inten"], b["ctx"])
        rec, vel = motion_loss(pred, b["tgt"], b["ctx"], model, weights)
        total += (rec + vel).item()
    return total / len(batches)


def save_checkpoint(model: MotionModel, path: Path, info: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() and not k.endswith(("_mean", "_std")) else v)
             for k, v in model.state_dict().items()}
    # the label names in embedding order: the generator maps labels by name and refuses unknown ones
    torch.save({"config": model.cfg.to_dict(), "model": state, "info": info, "labels": list(LABEL_NAMES)}, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="warmchat train-motion", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("assets/motion/generator.pt"))
    p.add_argument("--sentences", type=int, default=1200, help="template sentences to synthesize")
    p.add_argument("--minutes", type=float, default=14.0, help="training wall-clock budget")
    p.add_argument("--steps", type=int, default=0, help="fixed step count instead of --minutes")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--enc-layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy 2-core machine")
    p.add_argument("--kl-weight", type=float, default=0.01)
    p.add_argument("--head-weight", type=float, default=6.0, help="loss weight of yaw/pitch/roll")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--cues", type=int, default=N_CUES, help="speech-cue input columns (0 = log-mel only)")
    p.add_argument("--pause-boost", type=float, default=2.0,
                   help="extra pitch loss weight on listening frames inside the partner's pauses")
    p.add_argument("--prior-frac", type=float, default=0.5,
                   help="fraction of listening training windows decoded from prior latents (as at inference)")
    p.add_argument("--nod-weight", type=float, default=0.2, help="weight of the nod-peak loss in the partner's pauses")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(a.threads)
    t0 = time.time()
    samples = build_corpus(a.sentences, seed=a.seed)
    n_val = max(len(samples) // 20, 4)
    train, val = samples[n_val:], samples[:n_val]
    frames = sum(len(s.motion) for s in samples)
    log.info("corpus: %d clips, %.1f min of motion, built in %.0f s", len(samples), frames / 25 / 60, time.time() - t0)
    cfg = MotionConfig(n_layer=a.layers, n_embd=a.width, n_head=a.heads, n_enc_layer=a.enc_layers, dropout=a.dropout,
                       n_cues=a.cues)
    model = MotionModel(cfg)
    set_normalisation(model, train)
    log.info("model: %d layers x %d, %.2f M decoder parameters", cfg.n_layer, cfg.n_embd, model.num_params() / 1e6)
    hist = fit(model, train, val, a.minutes, a.batch, lr=a.lr, kl_weight=a.kl_weight, seed=a.seed,
               max_steps=a.steps, head_weight=a.head_weight, pause_boost=a.pause_boost,
               prior_frac=a.prior_frac, nod_weight=a.nod_weight)
    info = {**hist, "sentences": a.sentences, "clips": len(samples), "corpus_minutes": frames / 25 / 60,
            "corpus": "espeak-ng speech + procedural teacher", "command": "warmchat train-motion " + " ".join(sys.argv[1:] if argv is None else argv)}
    save_checkpoint(model, a.out, info)
    log.info("saved %s (%.1f MB): %s", a.out, a.out.stat().st_size / 1e6, hist)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
