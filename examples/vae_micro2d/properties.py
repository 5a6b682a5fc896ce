r"""Effective thermal conductivities (kx, ky) of binary microstructures, in MICRO2D's ``homogenized_thermal`` layout.

Phase 0 has conductivity 1 and phase 1 the contrast :math:`c`; for each of the six contrasts of
:data:`THERMAL_CONTRASTS` the effective tensor comes from :func:`spatialstats.homogenization.effective_conductivity`
(periodic FFT scheme, conjugate gradients). ``kx`` is the conductivity along the image's columns (axis -1), ``ky``
along its rows (axis -2). Images larger than :data:`THERMAL_RESOLUTION` are first resized to it with the example's
area-and-threshold rule (:func:`vae_micro2d.data.resize_binary`), which is also what the VAE sees at that size: the
properties are those of that image. The solver stops at a root-mean-square equilibrium residual of
:data:`THERMAL_TOL` (measured: properties within 2e-4 relative of a 1e-4 solve). Cost, measured on 2 CPU cores:
about 3.7 s of CPU time per 64 images of 96 px (computed at 64 px), so the demo's 500-image file takes about 30 s
more CPU time to write.

Example:
    >>> import numpy as np
    >>> layers = np.zeros((1, 8, 8), dtype=np.uint8)
    >>> layers[:, :, :4] = 1                               # columns 0-3 are phase 1: layers along y
    >>> values = thermal_properties(layers, contrasts=(3.0,), tol=1e-8)
    >>> values.shape, [round(float(v), 4) for v in values[0, 0]]   # kx across the layers (harmonic), ky along
    ((1, 1, 2), [1.5, 2.0])
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

from collections.abc import Sequence

import numpy as np
import torch

from spatialstats.homogenization import effective_conductivity
from vae_micro2d.data import resize_binary

__all__ = ["THERMAL_CONTRASTS", "THERMAL_RESOLUTION", "THERMAL_TOL", "THERMAL_INSTRUCTIONS", "thermal_properties", "conductivity_xy"]

#: Phase-1 conductivity per contrast pair (phase 0 has conductivity 1): conducting and insulating inclusions.
THERMAL_CONTRASTS: tuple[float, ...] = (2.0, 5.0, 10.0, 0.5, 0.2, 0.1)
#: Side (px) at which the properties are computed; larger images are resized to it.
THERMAL_RESOLUTION = 64
#: Stopping tolerance of the solver (root-mean-square equilibrium residual relative to the applied gradient).
THERMAL_TOL = 1e-3

THERMAL_INSTRUCTIONS = (
    "Effective thermal conductivity by an FFT homogenization solver (spatialstats.homogenization, periodic, "
    f"conjugate gradients, tol {THERMAL_TOL:g}) on the image resized to at most {THERMAL_RESOLUTION} px. "
    "Axis 1: six contrast pairs, phase 0 conductivity 1 and phase 1 conductivity "
    f"{', '.join(f'{c:g}' for c in THERMAL_CONTRASTS)}; axis 2: kx (along image axis -1, columns), "
    "ky (along image axis -2, rows)."
)


def conductivity_xy(images: torch.Tensor, contrasts: torch.Tensor, *, tol: float = THERMAL_TOL) -> torch.Tensor:
    """``(kx, ky)`` ``(N, 2)`` of binary images ``(N, H, W)`` with phase-1 conductivity ``contrasts`` ``(N,)``."""
    table = torch.stack([torch.ones_like(contrasts), contrasts], dim=1).to(torch.float64)
    tensor = effective_conductivity(images.long(), table, tol=tol, max_iter=5000, method="cg")
    return torch.stack([tensor[:, 1, 1], tensor[:, 0, 0]], dim=1)


def thermal_properties(
    images: np.ndarray | torch.Tensor,
    *,
    contrasts: Sequence[float] = THERMAL_CONTRASTS,
    resolution: int | None = THERMAL_RESOLUTION,
    tol: float = THERMAL_TOL,
    chunk: int = 16,
) -> np.ndarray:
    """``(N, len(contrasts), 2)`` float32 ``(kx, ky)`` of binary images ``(N, H, W)``, in chunks of ``chunk`` images."""
    images = torch.as_tensor(np.asarray(images)).to(torch.uint8)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must have shape (N, H, W) with N >= 1, got {tuple(images.shape)}")
    if resolution is not None and max(images.shape[1:]) > resolution:
        images = resize_binary(images.float(), resolution).to(torch.uint8)
    contrast = torch.as_tensor(list(contrasts), dtype=torch.float64)
    result = []
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk]
        repeated = part.repeat_interleave(len(contrast), dim=0)
        values = conductivity_xy(repeated, contrast.repeat(len(part)), tol=tol)
        result.append(values.reshape(len(part), len(contrast), 2))
    return torch.cat(result).numpy().astype(np.float32)
