"""The head-mask generator: a small transformer over a variational latent motion space.

One window of W motion frames is generated at once, conditioned per frame on log-mel audio, an
optional viseme track, role, emotion (label embedding x intensity) and a style code, and prefixed by
the last K frames already generated (so windows join without seams and any length can be made).
Training encodes the target window into per-chunk latents z ~ q(z | x, c) (mu, logvar); inference
samples z from the prior N(0, I), so the same input gives varied but plausible motion.

    tokens = [ctx_1..ctx_K | win_1..win_W]              # (B, K + W, D)
    ctx_t  = A(audio_t, viseme_t) + M(motion_t) + g + p_t
    win_t  = A(audio_t, viseme_t) + Z(z_chunk(t)) + g + p_t,   g = role + emotion * intensity + style
    motion = head(Blocks(tokens)[K:])                   # pose/gaze de-normalised, expression sigmoid

No I/O, no device choice: see generator.py (inference) and train.py (training).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

MOTION_DIM = 60  # pose 6 + gaze 2 + 52 ARKit expressions (MotionClip columns, in that order)
N_POSE_GAZE = 8


@dataclass
class MotionConfig:
    n_layer: int = 6
    n_head: int = 8
    n_embd: int = 256
    n_enc_layer: int = 2  # posterior encoder blocks (training only)
    window: int = 50  # W frames generated per step (2 s at 25 fps)
    context: int = 10  # K previous frames given as prefix tokens
    latent_dim: int = 16
    latent_stride: int = 5  # one latent per 5 frames (200 ms)
    n_mels: int = 40
    n_cues: int = 0  # speech cue columns after the mel ones (conditioning.speech_cues; 0 = none, old files)
    n_visemes: int = 14
    n_emotions: int = 7  # emotion.Emotion, in enum order
    n_roles: int = 2  # 0 speaking, 1 listening
    n_styles: int = 4  # style 0 = the teacher's default style
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the whole window (bidirectional: a window is made at once)."""

    def __init__(self, cfg: MotionConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.n_head, self.dropout = cfg.n_head, cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, h, T, c)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """Pre-LN transformer block (nanoGPT)."""

    def __init__(self, cfg: MotionConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(),
                                 nn.Linear(4 * cfg.n_embd, cfg.n_embd), nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class MotionModel(nn.Module):
    def __init__(self, cfg: MotionConfig) -> None:
        super().__init__()
        assert cfg.window % cfg.latent_stride == 0
        self.cfg = cfg
        D = cfg.n_embd
        # Normalisation statistics, set from the training corpus (see train.py).
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))
        self.register_buffer("motion_mean", torch.zeros(MOTION_DIM))
        self.register_buffer("motion_std", torch.ones(MOTION_DIM))
        self.audio_in = nn.Linear(cfg.n_mels + cfg.n_cues + cfg.n_visemes + 1, D)  # + 1: "viseme track present"
        self.motion_in = nn.Linear(MOTION_DIM, D)
        self.latent_in = nn.Linear(cfg.latent_dim, D)
        self.role_emb = nn.Embedding(cfg.n_roles, D)
        self.emotion_emb = nn.Embedding(cfg.n_emotions, D)
        self.style_emb = nn.Embedding(cfg.n_styles, D)
        self.pos_emb = nn.Parameter(torch.zeros(cfg.context + cfg.window, D))
        self.type_emb = nn.Parameter(torch.zeros(2, D))  # 0 context token, 1 window token
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, MOTION_DIM)
        # Posterior q(z | target window, conditioning): used in training only.
        self.enc_in = nn.Linear(MOTION_DIM, D)
        self.enc_blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_enc_layer))
        self.enc_out = nn.Linear(D, 2 * cfg.latent_dim)
        self.apply(self._init_weights)
        nn.init.normal_(self.pos_emb, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def normalise(self, motion: torch.Tensor) -> torch.Tensor:
        return (motion - self.motion_mean) / self.motion_std

    def global_code(self, role: torch.Tensor, emotion: torch.Tensor, intensity: torch.Tensor,
                    style: torch.Tensor | None = None, style_vec: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) = role + emotion * intensity + style. `style_vec` (B, D) overrides the style id."""
        g = self.role_emb(role) + self.emotion_emb(emotion) * intensity[:, None]
        if style_vec is None:
            style = torch.zeros_like(role) if style is None else style
            style_vec = self.style_emb(style)
        return g + style_vec

    def frame_code(self, mel: torch.Tensor, visemes: torch.Tensor, has_visemes: torch.Tensor) -> torch.Tensor:
        """(B, K + W, D) from mel (B, K + W, >= n_mels + n_cues): log-mel then speech cues (extra
        columns are ignored), visemes (B, K + W, V), has_visemes (B,)."""
        flag = has_visemes[:, None, None].expand(-1, mel.shape[1], 1).to(mel.dtype)
        M, C = self.cfg.n_mels, self.cfg.n_cues
        mel_n = (mel[..., :M] - self.mel_mean) / self.mel_std
        return self.audio_in(torch.cat([mel_n, mel[..., M:M + C], visemes * flag, flag], dim=-1))

    def encode(self, target: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (mu, logvar), each (B, W / stride, latent_dim), of the target window (B, W, 60)
        given its frame conditioning cond (B, W, D)."""
        h = self.enc_in(self.normalise(target)) + cond  # (B, W, D)
        for blk in self.enc_blocks:
            h = blk(h)
        B, W, D = h.shape
        h = h.view(B, W // self.cfg.latent_stride, self.cfg.latent_stride, D).mean(2)  # (B, W/s, D)
        mu, logvar = self.enc_out(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-8.0, 4.0)

    def forward(self, mel, visemes, has_visemes, role, emotion, intensity, context, z=None, target=None,
                style=None, style_vec=None, out_affine=None, prior_mask=None):
        """Generate one window.

        mel (B, K + W, n_mels [+ cues]) log-mel then speech cues (conditioning.window_slices); visemes (B, K + W, V) one-hot; has_visemes (B,) 0/1;
        role, emotion (B,) long; intensity (B,) float; context (B, K, 60) previous motion (raw units);
        z (B, W / stride, latent_dim) or None; target (B, W, 60) raw motion, training only.
        Returns (motion (B, W, 60) raw units, mu, logvar); mu/logvar are None without target.
        With a target, z is sampled from the posterior; without either, from the prior.
        style_vec (B, D) replaces the style embedding; out_affine (scale, shift), each (60,), maps
        the head's normalised output (a personalised style, see mimic.py). prior_mask (B,) bool, with
        a target: those windows take z from the prior instead (training: the decoder must also make
        good motion from the conditioning alone, as at inference).
        """
        cfg = self.cfg
        K, W = context.shape[1], mel.shape[1] - context.shape[1]
        frames = self.frame_code(mel, visemes, has_visemes)  # (B, K + W, D)
        g = self.global_code(role, emotion, intensity, style, style_vec)[:, None, :]  # (B, 1, D)
        mu = logvar = None
        if target is not None:
            mu, logvar = self.encode(target, frames[:, K:])
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation
            if prior_mask is not None:
                z = torch.where(prior_mask[:, None, None], torch.randn_like(z), z)
        elif z is None:
            z = torch.randn(mel.shape[0], W // cfg.latent_stride, cfg.latent_dim, device=mel.device)
        z_frames = self.latent_in(z).repeat_interleave(cfg.latent_stride, dim=1)  # (B, W, D)
        ctx = self.motion_in(self.normalise(context)) + self.type_emb[0]  # (B, K, D)
        win = z_frames + self.type_emb[1]  # (B, W, D)
        x = frames + torch.cat([ctx, win], dim=1) + g + self.pos_emb[: K + W]
        for blk in self.blocks:
            x = blk(x)
        out = self.head(self.ln_f(x[:, K:]))  # (B, W, 60)
        if out_affine is not None:
            out = out * out_affine[0] + out_affine[1]
        pose_gaze = out[..., :N_POSE_GAZE] * self.motion_std[:N_POSE_GAZE] + self.motion_mean[:N_POSE_GAZE]
        return torch.cat([pose_gaze, torch.sigmoid(out[..., N_POSE_GAZE:])], dim=-1), mu, logvar

    def num_params(self, decoder_only: bool = True) -> int:
        skip = ("enc_",) if decoder_only else ()
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith(skip))


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q || N(0, I)) summed over latent dims, averaged over batch and chunks."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()


def motion_loss(pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor, model: MotionModel,
                weights: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, velocity) losses in normalised units, channel-weighted by `weights` (60,) or
    per frame (B, W, 60).

    The velocity term includes the step from the last context frame into the window (seams).
    mask (B, W) float excludes frames (e.g. no face tracked) from both terms.
    """
    p, t = model.normalise(pred), model.normalise(target)
    c = model.normalise(context[:, -1:])
    if mask is None:
        mask = torch.ones(pred.shape[:2], device=pred.device)
    err = ((p - t) ** 2 * weights).mean(-1)  # (B, W)
    rec = (err * mask).sum() / mask.sum().clamp(min=1.0)
    dp, dt = torch.diff(torch.cat([c, p], 1), dim=1), torch.diff(torch.cat([c, t], 1), dim=1)
    vmask = mask * torch.cat([torch.ones_like(mask[:, :1]), mask[:, :-1]], 1)
    verr = ((dp - dt) ** 2 * weights).mean(-1)
    vel = (verr * vmask).sum() / vmask.sum().clamp(min=1.0)
    return rec, vel


def count_chunks(num_frames: int, cfg: MotionConfig) -> int:
    return math.ceil(num_frames / cfg.window)
