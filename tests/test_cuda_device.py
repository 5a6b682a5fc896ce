"""CUDA paths: the same numbers as on the CPU, device preserved, backward works. Skipped without a GPU."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("periodic", [True, False])
def test_statistics_match_cpu(channels, periodic):
    fields = torch.rand(4, channels, 33, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    mask = torch.rand(4, 33, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for options in ({}, {"cutoff": 7}, {"mask": mask}):
        on_cpu = ss.two_point_stats(fields, periodic=periodic, **options)
        gpu_options = {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in options.items()}
        on_gpu = ss.two_point_stats(fields.cuda(), periodic=periodic, **gpu_options)
        assert on_gpu.device.type == "cuda"
        torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_dtype_preserved_on_gpu(dtype):
    fields = torch.rand(2, 1, 64, 64, device="cuda").to(dtype)
    stats = ss.two_point_stats(fields)
    assert stats.dtype == dtype and stats.device.type == "cuda"
    reference = ss.two_point_stats(fields.float().cpu())
    torch.testing.assert_close(stats.float().cpu(), reference, rtol=0, atol=1e-2 if dtype != torch.float32 else 1e-5)


@pytest.mark.parametrize("loss", [F.msess, F.cess, F.center_crop_cess, F.mse_cess])
def test_losses_backward_on_gpu_match_cpu(loss):
    target = (torch.rand(4, 1, 64, 64, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    start = torch.rand(4, 1, 64, 64, generator=torch.Generator().manual_seed(3))
    gradients = []
    for device in ("cpu", "cuda"):
        prediction = start.to(device).requires_grad_()
        value = loss(prediction, target.to(device))
        value.backward()
        assert torch.isfinite(value)
        gradients.append(prediction.grad.cpu())
    torch.testing.assert_close(gradients[1], gradients[0], rtol=1e-3, atol=1e-6)


def test_loss_under_autocast():
    target = (torch.rand(2, 1, 64, 64, device="cuda") > 0.5).float()
    prediction = torch.rand(2, 1, 64, 64, device="cuda", requires_grad=True)
    with torch.autocast("cuda", dtype=torch.float16):
        value = F.cess(prediction.half(), target)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(prediction.grad).all()
