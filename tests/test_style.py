"""spatialstats.style: VGG-19 layers in code, weights only from the user, Gram-matrix style loss."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
from spatialstats.style import STYLE_LAYER_INDICES, VGG19StyleLoss, gram_matrix, load_vgg19_features, vgg19_features


def _state(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {f"features.{key}": value for key, value in vgg19_features().state_dict().items()}


def test_layout_matches_torchvision_indices():
    features = vgg19_features()
    assert len(features) == 37 and isinstance(features[36], torch.nn.MaxPool2d)
    assert [features[i].out_channels for i in (0, 5, 10, 19, 28)] == [64, 128, 256, 512, 512]
    assert all(isinstance(features[i], torch.nn.ReLU) for i in STYLE_LAYER_INDICES)
    assert sum(p.numel() for p in features.parameters()) == 20_024_384  # torchvision's vgg19().features


def test_gram_matrix_closed_form():
    features = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    flat = features.reshape(2, 3, 20)
    expected = torch.einsum("bci,bdi->bcd", flat, flat) / (3 * 20)
    torch.testing.assert_close(gram_matrix(features), expected)
    with pytest.raises(ValueError, match=r"features must have shape \(batch, C, H, W\), got \(3, 4\)"):
        gram_matrix(torch.zeros(3, 4))


def test_loss_from_state_dict_or_path_agree_and_is_zero_only_at_a_match(tmp_path):
    state = _state()
    torch.save(state, tmp_path / "vgg.pt")
    from_dict, from_path = VGG19StyleLoss(state), VGG19StyleLoss(tmp_path / "vgg.pt")
    generator = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 1, 32, 32, generator=generator), torch.rand(2, 1, 32, 32, generator=generator)
    torch.testing.assert_close(from_dict(x, y), from_path(x, y))
    assert from_dict(x, x).tolist() == [0.0, 0.0]
    assert (from_dict(x, y) > 0).all()
    # same image as 1 channel and as 3 equal channels
    torch.testing.assert_close(from_dict(x, y), from_dict(x.expand(-1, 3, -1, -1), y))
    assert ss.style.VGG19StyleLoss is VGG19StyleLoss


def test_reduction_matches_the_per_sample_values():
    state = _state()
    generator = torch.Generator().manual_seed(3)
    x, y = torch.rand(3, 1, 16, 16, generator=generator), torch.rand(3, 1, 16, 16, generator=generator)
    per_sample = VGG19StyleLoss(state)(x, y)
    assert per_sample.shape == (3,) and VGG19StyleLoss(state).reduction == "none"
    torch.testing.assert_close(VGG19StyleLoss(state, reduction="mean")(x, y), per_sample.mean())
    torch.testing.assert_close(VGG19StyleLoss(state, reduction="sum")(x, y), per_sample.sum())
    with pytest.raises(ValueError, match="reduction"):
        VGG19StyleLoss(state, reduction="avg")


def test_gradient_matches_finite_difference():
    loss = VGG19StyleLoss(_state()).double()
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(1, 1, 16, 16, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 16, 16, generator=generator, dtype=torch.float64)
    direction = torch.randn(1, 1, 16, 16, generator=generator, dtype=torch.float64)
    (gradient,) = torch.autograd.grad(loss(x, y).sum(), x)
    step = 1e-6
    with torch.no_grad():
        numeric = (loss(x + step * direction, y) - loss(x - step * direction, y)).sum() / (2 * step)
    torch.testing.assert_close((gradient * direction).sum(), numeric, rtol=1e-5, atol=1e-12)


def test_bad_weights_and_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="weights is required"):
        VGG19StyleLoss()
    with pytest.raises(ValueError, match="either weights or random_weights"):
        VGG19StyleLoss(_state(), random_weights=True)
    with pytest.raises(TypeError, match="random_weights must be a bool, got str"):
        VGG19StyleLoss(random_weights="yes")
    with pytest.raises(FileNotFoundError, match="weights: VGG-19 weights file not found: .*missing.pt"):
        VGG19StyleLoss(tmp_path / "missing.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(ValueError, match="module.pt is not a state dict of tensors .*weights_only"):
        VGG19StyleLoss(tmp_path / "module.pt")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="list.pt must hold a state dict .*got list"):
        VGG19StyleLoss(tmp_path / "list.pt")
    with pytest.raises(ValueError, match="state dict is not a torchvision VGG-19 state dict"):
        load_vgg19_features({"features.0.weight": torch.zeros(1)})
    style = VGG19StyleLoss(random_weights=True)
    with pytest.raises(ValueError, match=r"prediction must have shape \(batch, 1 or 3, H, W\) with H, W >= 16, got \(1, 2, 16, 16\)"):
        style(torch.rand(1, 2, 16, 16), torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"target must have shape .* got \(1, 1, 8, 8\)"):
        style(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
