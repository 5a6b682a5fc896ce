"""``torch.nn.Module`` wrappers of :mod:`spatialstats.functional`, for use like ``torch.nn.MSELoss``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from spatialstats import functional
from spatialstats.functional._common import check_options, statistics_of
from spatialstats.functional.statistics_losses import CENTER_CROP_CUTOFF

__all__ = ["MSESSLoss", "CESSLoss", "CenterCropCESSLoss", "ClampLoss", "MSECESSLoss", "TransportSSLoss"]


class _OptionsLoss(nn.Module):
    """A loss module is its functional form with fixed keyword options, validated here (in ``__init__``) and kept
    as attributes (``CESSLoss(cutoff=3).cutoff == 3``); ``forward`` passes ``self.options`` on."""

    def __init__(self, **options: Any) -> None:
        super().__init__()
        checked = check_options(**options)
        self._option_names = tuple(checked)
        for name, value in checked.items():
            setattr(self, name, value)

    @property
    def options(self) -> dict[str, Any]:
        """The keyword options given at construction (validated), as the dict ``forward`` passes to the function."""
        return {name: getattr(self, name) for name in self._option_names}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in self.options.items())


class _StatisticsLoss(_OptionsLoss):
    """Losses that compare statistics: options, and an optional fixed target kept as a buffer.

    The buffer ``target_statistics`` is in the ``state_dict`` once set. Loading a ``from_target`` module's state
    into a freshly built module of the same options (``CESSLoss(kl=True).load_state_dict(...)``) sets it, whatever
    the fresh module held before.
    """

    target_statistics: torch.Tensor | None

    def __init__(self, *, target_statistics: torch.Tensor | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.register_buffer("target_statistics", target_statistics)

    @classmethod
    def from_target(cls, target: torch.Tensor, **options: Any) -> _StatisticsLoss:
        """A loss whose target is fixed: the target's statistics are computed once, here, and kept as a buffer
        (so they follow ``.to(device)`` and the ``state_dict``). The ``state_dict`` loads into a freshly built
        module of the same options, which then has the same fixed target:
        ``CESSLoss(kl=True).load_state_dict(CESSLoss.from_target(target, kl=True).state_dict())``.

        Args:
            target: the target microstructure ``(batch, phases, *spatial)``, checked as ``target``.
            options: the class's keyword options.
        """
        loss = cls(**options)
        loss.target_statistics = statistics_of(
            target,
            "target",
            periodic=loss.options.get("periodic", True),
            cutoff=loss.options.get("cutoff"),
            check_values=loss.options.get("check_values", True),
        )
        return loss

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        saved = state_dict.get(prefix + "target_statistics")
        current = self.target_statistics
        if isinstance(saved, torch.Tensor) and (current is None or current.shape != saved.shape):
            device = current.device if current is not None else saved.device
            self.target_statistics = torch.empty_like(saved, device=device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _call(self, function: Any, prediction: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        if target is not None and self.target_statistics is not None:
            raise ValueError(
                f"{type(self).__name__} was built with fixed target_statistics; call it as loss(prediction), without target"
            )
        if target is None and self.target_statistics is None:
            raise ValueError(f"{type(self).__name__} needs a target: call loss(prediction, target) or build it with from_target")
        return function(prediction, target, target_statistics=self.target_statistics, **self.options)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fixed_target={self.target_statistics is not None}".lstrip(", ")


class MSESSLoss(_StatisticsLoss):
    r"""Mean squared error of the 2-point statistics; see :func:`spatialstats.functional.msess`.

    Keyword options (``periodic``, ``cutoff``, ``reduction``, ``check_values``) are those of the function;
    ``target_statistics`` (or :meth:`from_target`) fixes the target.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> loss = spatialstats.MSESSLoss(cutoff=4)
        >>> loss(target, target).item()
        0.0
    """

    def __init__(
        self,
        *,
        target_statistics: torch.Tensor | None = None,
        periodic: bool | Sequence[bool] = True,
        cutoff: int | Sequence[int] | None = None,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__(
            target_statistics=target_statistics,
            periodic=periodic,
            cutoff=cutoff,
            reduction=reduction,
            check_values=check_values,
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """The MSESS of ``prediction`` against ``target``, or against the fixed target statistics.

        Args:
            prediction: phase probabilities ``(batch, phases, *spatial)``, or the phase-1 probability
                ``(batch, 1, *spatial)`` of a two-phase microstructure.
            target: target microstructure with the same batch size, spatial shape and number of phases; leave it
                out when the loss was built with ``target_statistics`` or :meth:`from_target`.

        Returns:
            A scalar for ``reduction="mean"`` or ``"sum"``, one value per sample ``(batch,)`` for ``"none"``.

        Raises:
            ValueError: a ``target`` given to a loss with a fixed target, or none given to a loss without one.
        """
        return self._call(functional.msess, prediction, target)


class CESSLoss(_StatisticsLoss):
    r"""Cross-entropy of the 2-point statistics; see :func:`spatialstats.functional.cess`.

    Keyword options (``periodic``, ``cutoff``, ``eps``, ``kl``, ``reduction``, ``check_values``) are those of the
    function; ``target_statistics`` (or :meth:`from_target`) fixes the target.

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

    _function = staticmethod(functional.cess)

    def __init__(
        self,
        *,
        target_statistics: torch.Tensor | None = None,
        periodic: bool | Sequence[bool] = True,
        cutoff: int | Sequence[int] | None = None,
        eps: float = 1e-6,
        kl: bool = False,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__(
            target_statistics=target_statistics,
            periodic=periodic,
            cutoff=cutoff,
            eps=eps,
            kl=kl,
            reduction=reduction,
            check_values=check_values,
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """The CESS (or KL divergence with ``kl=True``) of ``prediction`` against ``target``, or against the fixed target statistics.

        Args:
            prediction: phase probabilities ``(batch, phases, *spatial)``, or the phase-1 probability
                ``(batch, 1, *spatial)`` of a two-phase microstructure.
            target: target microstructure with the same batch size, spatial shape and number of phases; leave it
                out when the loss was built with ``target_statistics`` or :meth:`from_target`.

        Returns:
            A scalar for ``reduction="mean"`` or ``"sum"``, one value per sample ``(batch,)`` for ``"none"``.

        Raises:
            ValueError: a ``target`` given to a loss with a fixed target, or none given to a loss without one.
        """
        return self._call(self._function, prediction, target)


class CenterCropCESSLoss(CESSLoss):
    r"""CESS on the centred window of offsets :math:`|r_d| \le` ``cutoff`` (default 25, a 51 x 51 window);
    see :func:`spatialstats.functional.center_crop_cess`.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> spatialstats.CenterCropCESSLoss(kl=True)(target, target).abs().item() < 1e-6
        True
    """

    _function = staticmethod(functional.center_crop_cess)

    def __init__(self, *, cutoff: int | Sequence[int] = CENTER_CROP_CUTOFF, **options: Any) -> None:
        if cutoff is None:
            raise ValueError("cutoff of CenterCropCESSLoss must be an int or one int per axis, got None")
        super().__init__(cutoff=cutoff, **options)


class ClampLoss(_OptionsLoss):
    r"""Binarizing two-Gaussian-mixture loss; see :func:`spatialstats.functional.clamp_loss`.

    Example:
        >>> import torch, spatialstats
        >>> spatialstats.ClampLoss(width=0.1)(torch.tensor([[[0.0, 1.0]]])) < 0
        tensor(True)
    """

    def __init__(self, *, width: float = 0.1, reduction: str = "mean", check_values: bool = True) -> None:
        super().__init__(width=width, reduction=reduction, check_values=check_values)

    def forward(self, prediction: torch.Tensor) -> torch.Tensor:
        """The clamp loss of ``prediction``: low where its values are near 0 or 1.

        Args:
            prediction: phase probabilities ``(batch, channels, *spatial)``, values in [0, 1].

        Returns:
            A scalar for ``reduction="mean"`` or ``"sum"``, one value per sample ``(batch,)`` for ``"none"``.
        """
        return functional.clamp_loss(prediction, **self.options)


class MSECESSLoss(_OptionsLoss):
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
        periodic: bool | Sequence[bool] = True,
        cutoff: int | Sequence[int] | None = None,
        eps: float = 1e-6,
        kl: bool = False,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__(
            alpha=alpha, periodic=periodic, cutoff=cutoff, eps=eps, kl=kl, reduction=reduction, check_values=check_values
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``alpha`` times the pixel MSE of ``prediction`` against ``target``, plus their CESS.

        Args:
            prediction: phase probabilities ``(batch, phases, *spatial)``, or the phase-1 probability
                ``(batch, 1, *spatial)`` of a two-phase microstructure.
            target: target microstructure of the same shape.

        Returns:
            A scalar for ``reduction="mean"`` or ``"sum"``, one value per sample ``(batch,)`` for ``"none"``.
        """
        return functional.mse_cess(prediction, target, **self.options)


class TransportSSLoss(_StatisticsLoss):
    r"""Transport-like distance of the 2-point statistics, for sparse and line-like microstructures; see
    :func:`spatialstats.functional.transport_ss`.

    Keyword options (``periodic``, ``cutoff``, ``eps``, ``reduction``, ``check_values``) are those of the function;
    ``target_statistics`` (or :meth:`from_target`) fixes the target.

    Example:
        >>> import torch, spatialstats
        >>> target = (torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> loss = spatialstats.TransportSSLoss.from_target(target, cutoff=4)
        >>> loss.options["cutoff"], loss(target).item()
        (4, 0.0)
        >>> bool(loss(torch.full_like(target, 0.5)) > 0)
        True
    """

    def __init__(
        self,
        *,
        target_statistics: torch.Tensor | None = None,
        periodic: bool | Sequence[bool] = True,
        cutoff: int | Sequence[int] | None = None,
        eps: float = 1e-6,
        reduction: str = "mean",
        check_values: bool = True,
    ) -> None:
        super().__init__(
            target_statistics=target_statistics,
            periodic=periodic,
            cutoff=cutoff,
            eps=eps,
            reduction=reduction,
            check_values=check_values,
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """Loss of ``prediction`` ``(batch, phases, *spatial)`` against ``target`` (same shape) or the fixed target;
        a scalar, or ``(batch,)`` with ``reduction="none"``."""
        return self._call(functional.transport_ss, prediction, target)

