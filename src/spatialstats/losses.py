"""``torch.nn.Module`` wrappers of :mod:`spatialstats.functional`, for use like ``torch.nn.MSELoss``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from spatialstats import functional
from spatialstats._validation import check_reduction
from spatialstats.functional.statistics_losses import CENTER_CROP_CUTOFF
from spatialstats.statistics import two_point_stats

__all__ = ["MSESSLoss", "CESSLoss", "CenterCropCESSLoss", "ClampLoss", "MSECESSLoss"]


class _StatisticsLoss(nn.Module):
    """Common part of the losses that compare statistics: options, and an optional fixed target."""

    target_statistics: torch.Tensor | None

    def __init__(
        self,
        *,
        target_statistics: torch.Tensor | None = None,
        periodic: bool = True,
        cutoff: int | Sequence[int] | None = None,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__()
        self.periodic = periodic
        self.cutoff = cutoff
        self.reduction = check_reduction(reduction)
        self.check_values = check_values
        self.register_buffer("target_statistics", target_statistics)

    @classmethod
    def from_target(cls, target: torch.Tensor, **options: Any) -> _StatisticsLoss:
        """A loss whose target is fixed: the target's statistics are computed once, here, and kept as a buffer
        (so they follow ``.to(device)`` and the ``state_dict``)."""
        periodic = options.get("periodic", True)
        cutoff = options.get("cutoff", cls._default_cutoff())
        with torch.no_grad():
            statistics = two_point_stats(
                target.float() if target.dtype in (torch.float16, torch.bfloat16) else target,
                periodic=periodic,
                cutoff=cutoff,
                check_values=options.get("check_values", True),
            )
        return cls(target_statistics=statistics, **options)

    @staticmethod
    def _default_cutoff() -> int | None:
        return None

    def _targets(self, target: torch.Tensor | None) -> dict[str, torch.Tensor | None]:
        if target is not None and self.target_statistics is not None:
            raise ValueError(
                f"{type(self).__name__} was built with fixed target_statistics; call it as loss(prediction), without target"
            )
        if target is None and self.target_statistics is None:
            raise ValueError(f"{type(self).__name__} needs a target: call loss(prediction, target) or build it with from_target")
        return {"target": target, "target_statistics": self.target_statistics}

    def extra_repr(self) -> str:
        fixed = self.target_statistics is not None
        return f"periodic={self.periodic}, cutoff={self.cutoff}, reduction={self.reduction!r}, fixed_target={fixed}"


class MSESSLoss(_StatisticsLoss):
    r"""Mean squared error of the 2-point statistics; see :func:`spatialstats.functional.msess`.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> loss = spatialstats.MSESSLoss(cutoff=4)
        >>> loss(target, target).item()
        0.0
    """

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return functional.msess(
            prediction,
            **self._targets(target),
            periodic=self.periodic,
            cutoff=self.cutoff,
            reduction=self.reduction,
            check_values=self.check_values,
        )


class CESSLoss(_StatisticsLoss):
    r"""Cross-entropy of the 2-point statistics; see :func:`spatialstats.functional.cess`.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> loss = spatialstats.CESSLoss.from_target(target, kl=True)
        >>> prediction = torch.full_like(target, 0.5, requires_grad=True)
        >>> value = loss(prediction)
        >>> value.backward()
        >>> bool(value > 0) and prediction.grad.shape == target.shape
        True
    """

    def __init__(self, *, eps: float = 1e-6, kl: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.eps = eps
        self.kl = kl

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return functional.cess(
            prediction,
            **self._targets(target),
            periodic=self.periodic,
            cutoff=self.cutoff,
            eps=self.eps,
            kl=self.kl,
            reduction=self.reduction,
            check_values=self.check_values,
        )


class CenterCropCESSLoss(CESSLoss):
    r"""CESS on the centred window of offsets :math:`|r_d| \le` ``cutoff`` (default 25, a 51 x 51 window);
    see :func:`spatialstats.functional.center_crop_cess`.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> spatialstats.CenterCropCESSLoss(kl=True)(target, target).abs().item() < 1e-6
        True
    """

    def __init__(self, *, cutoff: int | Sequence[int] = CENTER_CROP_CUTOFF, **options: Any) -> None:
        if cutoff is None:
            raise ValueError("cutoff of CenterCropCESSLoss must be an int or one int per axis, got None")
        super().__init__(cutoff=cutoff, **options)

    @staticmethod
    def _default_cutoff() -> int:
        return CENTER_CROP_CUTOFF


class ClampLoss(nn.Module):
    r"""Binarizing two-Gaussian-mixture loss; see :func:`spatialstats.functional.clamp_loss`.

    Example:
        >>> import torch, spatialstats
        >>> spatialstats.ClampLoss(width=0.1)(torch.tensor([[[0.0, 1.0]]])) < 0
        tensor(True)
    """

    def __init__(self, *, width: float = 0.1, reduction: str = "mean", check_values: bool = True) -> None:
        super().__init__()
        self.width = width
        self.reduction = check_reduction(reduction)
        self.check_values = check_values

    def forward(self, prediction: torch.Tensor) -> torch.Tensor:
        return functional.clamp_loss(
            prediction, width=self.width, reduction=self.reduction, check_values=self.check_values
        )

    def extra_repr(self) -> str:
        return f"width={self.width}, reduction={self.reduction!r}"


class MSECESSLoss(nn.Module):
    r"""``alpha`` times the pixel MSE plus CESS; see :func:`spatialstats.functional.mse_cess`.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> loss = spatialstats.MSECESSLoss(alpha=0.5, kl=True)
        >>> loss(target, target).abs().item() < 1e-6
        True
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        periodic: bool = True,
        cutoff: int | Sequence[int] | None = None,
        eps: float = 1e-6,
        kl: bool = False,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.periodic = periodic
        self.cutoff = cutoff
        self.eps = eps
        self.kl = kl
        self.reduction = check_reduction(reduction)
        self.check_values = check_values

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return functional.mse_cess(
            prediction,
            target,
            alpha=self.alpha,
            periodic=self.periodic,
            cutoff=self.cutoff,
            eps=self.eps,
            kl=self.kl,
            reduction=self.reduction,
            check_values=self.check_values,
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, periodic={self.periodic}, cutoff={self.cutoff}, reduction={self.reduction!r}"
