"""A weighted sum of descriptor mismatches, usable as a per-sample loss by the reconstruction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from spatialstats._validation import check_periodic, check_positive, check_reduction, require_floating_fields
from spatialstats.descriptors.lineal_path import lineal_path
from spatialstats.descriptors.radial import directional_two_point_stats, radial_two_point_stats
from spatialstats.descriptors.surface import surface_correlations
from spatialstats.statistics import two_point_stats

__all__ = ["DescriptorLoss", "DESCRIPTORS"]


@dataclass(frozen=True)
class _Options:
    periodic: bool | tuple[bool, ...]
    cutoff: int | Sequence[int] | None
    max_length: int | None
    bins: int | Sequence[float] | None
    check_values: bool


def _two_point(fields: torch.Tensor, o: _Options) -> torch.Tensor:
    return two_point_stats(fields, periodic=o.periodic, cutoff=o.cutoff, check_values=o.check_values)


def _lineal_path(fields: torch.Tensor, o: _Options) -> torch.Tensor:
    max_length = min(fields.shape[2:]) // 2 if o.max_length is None else o.max_length
    return lineal_path(fields, max_length=max_length, periodic=o.periodic, check_values=o.check_values)


def _radial(fields: torch.Tensor, o: _Options) -> torch.Tensor:
    values, _ = radial_two_point_stats(
        fields, bins=o.bins, periodic=o.periodic, cutoff=o.cutoff, check_values=o.check_values
    )
    return values


def _directional(fields: torch.Tensor, o: _Options) -> torch.Tensor:
    cutoff = o.cutoff if o.cutoff is None or isinstance(o.cutoff, int) else min(o.cutoff)
    return directional_two_point_stats(fields, periodic=o.periodic, cutoff=cutoff, check_values=o.check_values)


def _surface(fields: torch.Tensor, o: _Options) -> torch.Tensor:
    f_ss, f_sv = surface_correlations(fields, periodic=o.periodic, cutoff=o.cutoff, check_values=o.check_values)
    return torch.cat([f_ss.flatten(1), f_sv.flatten(1)], dim=1)


#: The differentiable descriptors a :class:`DescriptorLoss` can combine, by name.
DESCRIPTORS: dict[str, Callable[[torch.Tensor, _Options], torch.Tensor]] = {
    "two_point": _two_point,
    "lineal_path": _lineal_path,
    "radial": _radial,
    "directional": _directional,
    "surface": _surface,
}


class DescriptorLoss(nn.Module):
    r"""Weighted sum of mean squared descriptor mismatches against fixed targets, one value per sample.

    .. math::

        \mathcal{L}(m) = \sum_i w_i \, \frac{1}{|D_i|} \big\| D_i(m) - D_i(m_t) \big\|^2,

    for the descriptors :math:`D_i` named in ``weights`` (see :data:`~spatialstats.descriptors.DESCRIPTORS`): ``"two_point"``
    (:func:`spatialstats.two_point_stats`, with ``cutoff``), ``"lineal_path"`` (:func:`lineal_path`, with
    ``max_length``, default ``min(spatial) // 2``), ``"radial"`` (:func:`radial_two_point_stats`, with ``bins``
    and ``cutoff``), ``"directional"`` (:func:`directional_two_point_stats`) and ``"surface"``
    (:func:`surface_correlations`). All are differentiable. With the default ``reduction="none"`` it returns one
    loss per sample ``(batch,)``, the form :func:`spatialstats.reconstruction.reconstruct` accepts as a custom
    ``loss``. Build it with :meth:`from_target`, which computes the target's descriptors once (stored as buffers,
    so ``.to(device)`` moves them).

    Args:
        target_descriptors: ``{name: (targets, ...)}`` precomputed descriptors, as :meth:`descriptors` returns.
        weights: ``{name: weight}`` with positive weights.
        periodic, cutoff, max_length, bins: the descriptors' options (shared by all of them); ``periodic`` is a
            bool or one bool per spatial axis.
        reduction: ``"none"`` (default: per sample), ``"mean"`` or ``"sum"`` over the batch.
        check_values: check that the fields are finite and inside [0, 1] at every call.

    With ``targets`` target rows and a batch of ``B`` fields, ``B`` must be a multiple of ``targets``; sample ``i``
    is compared with target ``i // (B // targets)`` (one target for the whole batch, or ``B // targets``
    consecutive samples per target, the order :func:`~spatialstats.reconstruction.reconstruct` uses).

    Example:
        >>> import torch, spatialstats as ss
        >>> target = ss.synthetic.circles(1, 32, count=2, radius=6, seed=0).float().unsqueeze(1)
        >>> loss = ss.descriptors.DescriptorLoss.from_target(
        ...     target, weights={"two_point": 1.0, "lineal_path": 0.5}, cutoff=8, max_length=8)
        >>> loss(target).tolist()  # the target matches itself
        [0.0]
        >>> fields = torch.rand(3, 1, 32, 32, requires_grad=True)
        >>> value = loss(fields)
        >>> value.shape, bool((value > 0).all())
        (torch.Size([3]), True)
        >>> value.sum().backward()
    """

    def __init__(
        self,
        target_descriptors: Mapping[str, torch.Tensor],
        *,
        weights: Mapping[str, float],
        periodic: bool | Sequence[bool] = True,
        cutoff: int | Sequence[int] | None = None,
        max_length: int | None = None,
        bins: int | Sequence[float] | None = None,
        reduction: str = "none",
        check_values: bool = True,
    ) -> None:
        super().__init__()
        self.weights = _check_weights(weights)
        self.periodic = check_periodic(periodic)
        self.cutoff, self.max_length, self.bins = cutoff, max_length, bins
        self.reduction = check_reduction(reduction)
        self.check_values = check_values
        if not isinstance(target_descriptors, Mapping) or set(target_descriptors) != set(self.weights):
            got = (
                sorted(target_descriptors) if isinstance(target_descriptors, Mapping)
                else type(target_descriptors).__name__
            )
            raise ValueError(
                f"target_descriptors must hold exactly the weighted descriptors {sorted(self.weights)}, got {got}"
            )
        for name, value in target_descriptors.items():
            if not isinstance(value, torch.Tensor) or value.ndim != 2:
                raise ValueError(
                    f"target_descriptors[{name!r}] must be a (targets, features) tensor, got {value!r:.80}"
                )
            self.register_buffer(f"target_{name}", value.detach().clone())

    @classmethod
    def from_target(
        cls, target: torch.Tensor, *, weights: Mapping[str, float] | None = None, **options: object
    ) -> DescriptorLoss:
        """The loss against a target microstructure ``(targets, phases, *spatial)``; ``weights`` defaults to
        ``{"two_point": 1.0, "lineal_path": 1.0}``; ``options`` are the constructor's keyword arguments."""
        weights = _check_weights({"two_point": 1.0, "lineal_path": 1.0} if weights is None else weights)
        probe = cls({name: torch.zeros(1, 1) for name in weights}, weights=weights, **options)  # type: ignore[arg-type]
        with torch.no_grad():
            return cls(probe.descriptors(target), weights=weights, **options)  # type: ignore[arg-type]

    def _options(self) -> _Options:
        return _Options(self.periodic, self.cutoff, self.max_length, self.bins, self.check_values)

    def descriptors(self, fields: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each weighted descriptor of ``fields`` ``(batch, phases, *spatial)``, flattened to ``(batch, features)``."""
        fields = require_floating_fields(fields, "fields")
        options = self._options()
        return {name: DESCRIPTORS[name](fields, options).flatten(1) for name in self.weights}

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        """Loss of ``fields`` ``(batch, phases, *spatial)``: ``(batch,)`` with ``reduction="none"``, else a scalar."""
        total = None
        for name, value in self.descriptors(fields).items():
            target = self._target_rows(name, value)
            term = self.weights[name] * (value - target).pow(2).mean(dim=1)
            total = term if total is None else total + term
        assert total is not None
        if self.reduction == "mean":
            return total.mean()
        return total.sum() if self.reduction == "sum" else total

    def _target_rows(self, name: str, value: torch.Tensor) -> torch.Tensor:
        target = getattr(self, f"target_{name}")
        batch, targets = value.shape[0], target.shape[0]
        if batch % targets != 0 or target.shape[1] != value.shape[1]:
            raise ValueError(
                f"fields give {name} descriptors of shape {tuple(value.shape)}, which do not fit the targets' "
                f"{tuple(target.shape)}: the batch must be a multiple of the number of targets and the spatial shape "
                "and options those of the target"
            )
        return target.to(value.dtype).repeat_interleave(batch // targets, dim=0)


def _check_weights(weights: object) -> dict[str, float]:
    if not isinstance(weights, Mapping) or not weights:
        raise TypeError(f"weights must be a non-empty dict {{descriptor name: weight}}, got {weights!r}")
    unknown = [name for name in weights if name not in DESCRIPTORS]
    if unknown:
        raise ValueError(f"weights names unknown descriptors {unknown}; known: {sorted(DESCRIPTORS)}")
    return {name: check_positive(weight, f"weights[{name!r}]") for name, weight in weights.items()}
