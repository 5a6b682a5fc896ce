"""CUDA: the same numbers as on the CPU, the device and dtype preserved, working backward passes, float16 input.

Every test is skipped without a CUDA device.
"""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

CUDA = torch.device("cuda")
PERIODIC = pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])


@PERIODIC
@pytest.mark.parametrize("phases", [1, 3], ids=["single-channel", "three-phase"])
@pytest.mark.parametrize("spatial", [(9,), (16, 15), (6, 7, 8)], ids=str)
@pytest.mark.parametrize("cutoff", [None, 2], ids=["all-offsets", "cutoff2"])
def test_statistics_equal_cpu(random_fields, periodic, phases, spatial, cutoff):
    fields = random_fields(3, phases, *spatial)
    on_cpu = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    on_gpu = ss.two_point_stats(fields.to(CUDA), periodic=periodic, cutoff=cutoff)
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float64
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=1e-12)
    single = ss.two_point_stats(fields.float().to(CUDA), periodic=periodic, cutoff=cutoff)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.cpu().double(), on_cpu, rtol=0, atol=1e-5)


@PERIODIC
@pytest.mark.parametrize("batched_mask", [False, True], ids=["shared-mask", "batched-mask"])
def test_mask_and_pairs_equal_cpu(random_fields, generator, periodic, batched_mask):
    fields = random_fields(2, 3, 10, 11)
    mask = torch.rand((2, 10, 11) if batched_mask else (10, 11), generator=generator, dtype=torch.float64)
    options = dict(periodic=periodic, cutoff=3, pairs=[(0, 2), (1, 1)])
    on_cpu = ss.two_point_stats(fields, mask=mask, **options)
    on_gpu = ss.two_point_stats(fields.to(CUDA), mask=mask.to(CUDA), **options)
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=0, atol=1e-12)


def test_field_builders_keep_the_device(random_labels):
    labels = random_labels(2, 3, 5, 6).to(CUDA)
    one_hot = ss.one_hot_from_labels(labels)
    assert one_hot.device.type == "cuda"
    torch.testing.assert_close(one_hot.cpu(), ss.one_hot_from_labels(labels.cpu()), rtol=0, atol=0)
    probability = torch.full((1, 1, 4, 4), 0.3, device=CUDA)
    assert ss.two_phase_from_probability(probability).device.type == "cuda"


LOSSES = {
    "msess": lambda p, t: F.msess(p, t),
    "cess": lambda p, t: F.cess(p, t, periodic=False),
    "kl": lambda p, t: F.cess(p, t, kl=True),
    "center_crop": lambda p, t: F.center_crop_cess(p, t, cutoff=3),
    "clamp": lambda p, t: F.clamp_loss(p),
    "mse_cess": lambda p, t: F.mse_cess(p, t, alpha=0.5),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("phases", [1, 3], ids=["single-channel", "three-phase"])
def test_losses_and_gradients_equal_cpu(random_fields, random_labels, name, phases):
    prediction = random_fields(2, phases, 12, 13)
    target = ss.one_hot_from_labels(random_labels(2, max(phases, 2), 12, 13), dtype=torch.float64)
    if phases == 1:
        target = target[:, 1:]
    results = {}
    for device in ("cpu", "cuda"):
        leaf = prediction.to(device).requires_grad_(True)
        value = LOSSES[name](leaf, target.to(device))
        value.backward()
        assert value.device.type == device and leaf.grad.device.type == device
        results[device] = (value.detach().cpu(), leaf.grad.cpu())
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-8, atol=1e-12)
    assert float(results["cuda"][1].abs().max()) > 0


def test_module_with_fixed_target_follows_the_device(random_fields, random_labels):
    target = ss.one_hot_from_labels(random_labels(1, 2, 12, 12), dtype=torch.float32)
    loss = ss.CESSLoss.from_target(target, cutoff=3).to(CUDA)
    assert loss.target_statistics.device.type == "cuda"
    prediction = random_fields(1, 2, 12, 12, dtype=torch.float32).to(CUDA).requires_grad_(True)
    value = loss(prediction)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(prediction.grad).all()
    expected = F.cess(prediction.detach().cpu(), target, cutoff=3)
    torch.testing.assert_close(value.detach().cpu(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@PERIODIC
def test_half_precision_input(random_fields, random_labels, dtype, periodic):
    fields = random_fields(2, 1, 16, 16).to(dtype)
    on_gpu = ss.two_point_stats(fields.to(CUDA), periodic=periodic, cutoff=4)
    assert on_gpu.dtype == dtype and on_gpu.device.type == "cuda"
    reference = ss.two_point_stats(fields.float(), periodic=periodic, cutoff=4)
    tolerance = {torch.float16: 1e-3, torch.bfloat16: 8e-3}[dtype]
    torch.testing.assert_close(on_gpu.cpu().float(), reference, rtol=0, atol=tolerance)
    target = ss.one_hot_from_labels(random_labels(2, 2, 16, 16))[:, 1:].to(dtype).to(CUDA)
    prediction = fields.to(CUDA).requires_grad_(True)
    value = F.cess(prediction, target, periodic=periodic) + F.clamp_loss(prediction)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(prediction.grad).all()
    assert prediction.grad.dtype == dtype


def test_cess_under_autocast_is_finite():
    target = (torch.rand(2, 1, 64, 64, device="cuda") > 0.5).float()
    prediction = torch.rand(2, 1, 64, 64, device="cuda", requires_grad=True)
    with torch.autocast("cuda", dtype=torch.float16):
        value = F.cess(prediction.half(), target)
    value.backward()
    assert value.dtype == torch.float32
    assert torch.isfinite(value) and torch.isfinite(prediction.grad).all()


@PERIODIC
def test_no_host_synchronisation_with_checks_off(periodic):
    """With check_values=False nothing reads tensor values on the host: statistics (one, two and three channels),
    the fused and the general losses, forward and backward, run under CUDA's sync debug mode set to error."""
    generator = torch.Generator().manual_seed(0)
    prediction = torch.rand((4, 1, 16, 16), generator=generator).to(CUDA).requires_grad_(True)
    target = (torch.rand((4, 1, 16, 16), generator=generator) > 0.5).float().to(CUDA)
    three = torch.softmax(torch.randn((4, 3, 16, 16), generator=generator), dim=1).to(CUDA).requires_grad_(True)
    options = dict(periodic=periodic, cutoff=3, check_values=False)
    statistics = ss.two_point_stats(target, **options)
    three_target = ss.one_hot_from_labels(three.detach().argmax(dim=1))  # reads the labels: outside the check

    def step() -> None:
        for fields in (prediction, ss.two_phase_from_probability(target), three):
            ss.two_point_stats(fields, **options)
        ss.two_point_stats(prediction, pairs=[(1, 1)], **options)
        F.cess(prediction, target_statistics=statistics, **options).backward()
        F.msess(prediction, target, **options).backward()
        F.mse_cess(prediction, target, **options).backward()
        F.cess(three, three_target, **options).backward()
        F.msess(three, three_target, **options).backward()  # the fused n-phase path, with its gradient

    step()  # warm-up: plans, caches
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        step()
    finally:
        torch.cuda.set_sync_debug_mode(0)
