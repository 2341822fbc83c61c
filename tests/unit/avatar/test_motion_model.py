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
