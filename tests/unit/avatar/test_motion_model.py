import torch

from avatar.motion.model import MotionConfig, MotionModel, kl_divergence, motion_loss
from tests.unit.avatar.conftest import TINY


def _inputs(B=2, K=5, W=20):
    g = torch.Generator().manual_seed(1)
    mel = torch.randn(B, K + W, 40, generator=g)
    vis = torch.zeros(B, K + W, 14)
    vis[..., 3] = 1
    ctx = torch.zeros(B, K, 60)
    ctx[..., 5] = 1
    z = torch.randn(B, W // 5, 4, generator=g)
    codes = (torch.tensor([1.0, 0.0]), torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([0.5, 1.0]))
    return mel, vis, codes, ctx, z


def _model():
    torch.manual_seed(0)
    return MotionModel(MotionConfig(**TINY)).eval()


def test_forward_shapes_and_stored_values():
    mel, vis, (has, role, emo, inten), ctx, z = _inputs()
    with torch.no_grad():
        y, mu, logvar = _model()(mel, vis, has, role, emo, inten, ctx, z=z)
    assert y.shape == (2, 20, 60) and mu is None and logvar is None
    assert ((y[..., 8:] >= 0) & (y[..., 8:] <= 1)).all()  # expressions through a sigmoid
    torch.testing.assert_close(y[0, 0, :4], torch.tensor([-0.137035, 0.136458, -0.068307, 0.028181]), atol=1e-4, rtol=0)
    torch.testing.assert_close(y[1, -1, 8:12], torch.tensor([0.436859, 0.487635, 0.517346, 0.489542]), atol=1e-4, rtol=0)


def test_training_step_with_posterior():
    model = _model().train()
    mel, vis, (has, role, emo, inten), ctx, _ = _inputs()
    target = torch.rand(2, 20, 60)
    y, mu, logvar = model(mel, vis, has, role, emo, inten, ctx, target=target)
    assert mu.shape == logvar.shape == (2, 4, 4)
    rec, vel = motion_loss(y, target, ctx, model, torch.ones(60))
    loss = rec + vel + 0.01 * kl_divergence(mu, logvar)
    loss.backward()
    assert torch.isfinite(loss) and kl_divergence(mu, logvar) >= 0
    assert model.head.weight.grad.abs().sum() > 0 and model.enc_out.weight.grad.abs().sum() > 0


def test_latent_and_context_change_the_output():
    model = _model()
    mel, vis, (has, role, emo, inten), ctx, z = _inputs()
    with torch.no_grad():
        a = model(mel, vis, has, role, emo, inten, ctx, z=z)[0]
        b = model(mel, vis, has, role, emo, inten, ctx, z=z + 1.0)[0]
        c = model(mel, vis, has, role, emo, inten, ctx + 0.5, z=z)[0]
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_default_config_is_6x256():
    cfg = MotionConfig()
    assert (cfg.n_layer, cfg.n_embd) == (6, 256)


def test_speech_cue_columns_are_used_only_when_configured():
    mel, vis, (has, role, emo, inten), ctx, z = _inputs()
    cues = torch.zeros(*mel.shape[:2], 3)
    cues[:, 10:, 1] = 1.0
    with torch.no_grad():
        old = _model()  # n_cues = 0 (files made before the cues): extra columns are ignored
        a = old(mel, vis, has, role, emo, inten, ctx, z=z)[0]
        b = old(torch.cat([mel, cues], -1), vis, has, role, emo, inten, ctx, z=z)[0]
        torch.manual_seed(0)
        new = MotionModel(MotionConfig(**TINY, n_cues=3)).eval()
        c = new(torch.cat([mel, cues], -1), vis, has, role, emo, inten, ctx, z=z)[0]
        d = new(torch.cat([mel, 0 * cues], -1), vis, has, role, emo, inten, ctx, z=z)[0]
    torch.testing.assert_close(a, b)
    assert new.audio_in.in_features == old.audio_in.in_features + 3 and not torch.allclose(c, d)


def test_speech_cues_mark_pauses_from_energy(speech):
    import numpy as np

    from avatar.motion.clip import FPS
    from avatar.motion.conditioning import N_CUES, speech_cues, window_slices, build_conditioning
    from avatar.motion.clip import Role
    from avatar.motion.features import find_pauses
    from emotion import EmotionState

    n = int(np.ceil(speech.duration * FPS))
    cues = speech_cues(speech, n)
    assert cues.shape == (n, N_CUES) and cues[:, 0].any()
    assert not (cues[:, 0].astype(bool) & cues[:, 1].astype(bool)).any()  # active speech is no pause
    # the 0.8 s pause between the sentences and the 0.6 s after them, as the word timings have them
    for start, end in find_pauses(speech.words, None, speech.duration):
        f = int(round((start + end) / 2 * FPS))
        assert cues[f, 1] == 1.0 and 0 < cues[f, 2] <= 1.0
    ramp = cues[:, 2][cues[:, 1] > 0]
    assert ramp.max() <= 1.0 and ramp.min() >= 0.0
    assert not speech_cues(None, 10).any()
    cond = build_conditioning(speech, n, Role.LISTENING, EmotionState.neutral())
    mel, _, _, _ = window_slices(cond, None, 0, 5, 20)
    assert mel.shape == (25, 40 + N_CUES) and not mel[:5, 40:].any()  # before frame 0: no cues


def test_listening_losses_prior_windows_and_nod_peak():
    from avatar.motion.train import channel_weights, nod_peak_loss, step_loss

    torch.manual_seed(0)
    cfg = MotionConfig(**TINY, n_cues=3)
    model = MotionModel(cfg).train()
    mel, vis, (has, role, emo, inten), ctx, _ = _inputs()
    cues = torch.zeros(*mel.shape[:2], 3)
    cues[:, 10:, 1] = 1.0
    cues[:, 10:, 2] = torch.linspace(0, 1, 15)
    tgt = torch.rand(2, 20, 60)
    b = {"mel": torch.cat([mel, cues], -1), "vis": vis, "has": has, "role": torch.tensor([1, 1]), "emo": emo,
         "inten": inten, "ctx": ctx, "tgt": tgt}
    assert nod_peak_loss(model, b, tgt) == 0
    loss, _ = step_loss(model, b, channel_weights(6.0), 0.01, pause_boost=2.0, prior_frac=1.0, nod_weight=0.2)
    loss.backward()
    assert torch.isfinite(loss) and model.audio_in.weight.grad[:, 40:43].abs().sum() > 0
    # prior windows: the encoder gets no reconstruction gradient, only the KL's
    assert model.enc_out.weight.grad is not None
