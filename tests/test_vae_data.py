"""The example's reader keeps each image's volume fraction and its thin features when resizing (issue 8 item 10),
and reports files whose images are not 256 x 256."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import spatialstats as ss  # noqa: E402
from vae_micro2d.data import area_matrix, check_image_size, image_side, resize_binary  # noqa: E402
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d  # noqa: E402

TOLERANCE = {224: 0.01, 64: 0.02}


def _checkerboard(size: int, period: int) -> torch.Tensor:
    index = torch.arange(size) // period
    return ((index[:, None] + index[None, :]) % 2).float()


def _cases() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    lines = torch.zeros(256, 256)
    lines[:, 5::16] = 1.0
    return {
        "checkerboard 1 px": _checkerboard(256, 1),
        "checkerboard 3 px": _checkerboard(256, 3),
        "bernoulli 0.5": (torch.rand(256, 256, generator=generator) < 0.5).float(),
        "bernoulli 0.1": (torch.rand(256, 256, generator=generator) < 0.1).float(),
        "1-px lines": lines,
        "1-px lines, transposed": lines.T.contiguous(),
        "disks": ss.synthetic.circles(1, 256, count=6, radius=20, seed=0)[0].float(),
        "small disks": ss.synthetic.circles(1, 256, count=40, radius=3, seed=1)[0].float(),
    }


@pytest.mark.parametrize("size", [224, 64])
@pytest.mark.parametrize("case", sorted(_cases()))
def test_resize_keeps_the_volume_fraction_and_stays_binary(case, size):
    image = _cases()[case]
    resized = resize_binary(image, size)
    assert resized.shape == (size, size) and resized.dtype == image.dtype
    assert set(resized.unique().tolist()) <= {0.0, 1.0}
    assert abs(resized.mean().item() - image.mean().item()) <= TOLERANCE[size], (case, image.mean(), resized.mean())
    # the old reader (area, then >= 0.5) moved Bernoulli(0.5) from 0.50 to 0.69 at 64 px
    assert abs(resized.mean().item() - image.mean().item()) <= 0.5 / size**2 + 1e-12


@pytest.mark.parametrize("size", [224, 64])
def test_resize_keeps_every_thin_line(size):
    lines = torch.zeros(256, 256)
    lines[:, 5::16] = 1.0  # 16 one-pixel lines
    resized = resize_binary(lines, size)
    covering = area_matrix(256, size)[:, 5::16] > 0  # (size, 16): the output columns each line overlaps
    for line in range(16):  # no line vanishes...
        assert resized[:, covering[:, line]].sum() > 0, line
    assert resized[:, ~covering.any(dim=1)].sum() == 0  # ...and nothing appears away from the lines
    if size == 64:  # a 4x reduction keeps each line as an evenly dotted line: one pixel in four, every row band
        per_line = resized[:, covering.any(dim=1)]
        assert per_line.shape == (64, 16) and (per_line.reshape(16, 4, 16).sum(dim=1) == 1).all()


def test_area_matrix_is_exact_area_resampling():
    for length, size in ((256, 224), (256, 64), (96, 64), (7, 3)):
        weights = area_matrix(length, size)
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(size, dtype=torch.float64))
        torch.testing.assert_close(weights.sum(dim=0), torch.full((length,), size / length, dtype=torch.float64))
    image = torch.rand(1, 1, 256, 256, dtype=torch.float64)
    pooled = torch.nn.functional.avg_pool2d(image, 4)[0, 0]  # integer factor: plain block means
    torch.testing.assert_close(area_matrix(256, 64) @ image[0, 0] @ area_matrix(256, 64).T, pooled)


def test_resize_keeps_shapes_where_the_area_is_clear():
    disks = ss.synthetic.circles(1, 256, count=6, radius=20, seed=0)[0].float()
    resized = resize_binary(disks, 64)
    grey = area_matrix(256, 64).float() @ disks @ area_matrix(256, 64).float().T
    clear = (grey == 0) | (grey == 1)
    assert torch.equal(resized[clear], grey[clear])  # only boundary pixels can change


def test_resize_batches_and_refuses_upsampling():
    batch = torch.stack([_checkerboard(64, 1), torch.zeros(64, 64), torch.ones(64, 64)])
    resized = resize_binary(batch, 32)
    assert resized.mean(dim=(1, 2)).tolist() == [0.5, 0.0, 1.0]
    assert resize_binary(batch, 64) is batch
    with pytest.raises(ValueError, match=r"size must be <= the image size \(64, 64\)"):
        resize_binary(batch, 128)


def test_files_of_another_size_are_reported_and_never_upsampled(tmp_path):
    path = tmp_path / "small.h5"
    write_synthetic_micro2d(path, samples_per_class=2, size=48, seed=0)
    assert image_side(path) == 48
    note = check_image_size(path, 32)
    assert note is not None and "48 x 48" in note and "256 x 256" in note and "32 x 32" in note
    with pytest.raises(ValueError, match=r"image_size must be <= .*\(48 x 48\).*never upsampled; got 64"):
        check_image_size(path, 64)
