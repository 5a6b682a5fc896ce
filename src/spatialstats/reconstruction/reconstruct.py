"""Gradient-descent reconstruction of microstructures from their 2-point statistics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from spatialstats._progress import progress_bar
from spatialstats.functional import center_crop_cess, cess, clamp_loss, msess
from spatialstats.fields import one_hot_from_labels
from spatialstats.reconstruction.result import ReconstructionResult, binarize, statistics_error
from spatialstats._validation import check_int, check_number, is_int
from spatialstats.functional._common import statistics_of
from spatialstats.statistics import two_point_stats

LOSSES = ("msess", "cess", "center_crop_cess")
PARAMETERIZATIONS = ("clip", "logits")
CENTER_CROP_DEFAULT_CUTOFF = 25

OptimizerFactory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]
Callback = Callable[[int, torch.Tensor, torch.Tensor], object]


def reconstruct(
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    shape: Sequence[int] | None = None,
    loss: str = "cess",
    clamp_weight: float = 0.0,
    clamp_width: float = 0.1,
    clamp_delay: float = 0.0,
    parameterization: str = "clip",
    periodic: bool = True,
    cutoff: int | Sequence[int] | None = None,
    eps: float = 1e-6,
    num_samples: int = 1,
    optimizer: type[torch.optim.Optimizer] | OptimizerFactory = torch.optim.Adam,
    lr: float = 0.01,
    steps: int = 500,
    tolerance: float | None = None,
    patience: int = 50,
    seed: int = 0,
    device: torch.device | str | None = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> ReconstructionResult:
    r"""Reconstruct microstructures whose 2-point statistics match a target's, by gradient descent.

    A soft field :math:`m_\theta` of phase probabilities is optimised so that its statistics
    :math:`f_{m_\theta}` (:func:`spatialstats.two_point_stats`) match the target's :math:`f_t`:

    .. math::

        \theta^\star = \arg\min_\theta \; \mathcal{L}_\mathrm{stats}(f_{m_\theta}, f_t)
            + \lambda \, \mathcal{L}_\mathrm{clamp}(m_\theta)

    with :math:`\mathcal{L}_\mathrm{stats}` one of MSESS, CESS or centre-crop CESS and :math:`\lambda` =
    ``clamp_weight`` (:func:`spatialstats.functional.clamp_loss`, pushing pixels towards 0 and 1). The batch loss is
    the *sum* of the per-reconstruction losses, so reconstructions do not interact: a batched call gives the same
    result as one call per target (up to floating-point rounding). The result is then binarized (``p > 0.5``, or the
    argmax for more than two phases) and scored with
    :func:`~spatialstats.reconstruction.result.statistics_error`, the RMS difference of the binarized statistics to
    the target's over all pairs and offsets of the loss's layout.

    Parameterizations:

    * ``"clip"`` (as in the paper): the pixel values are the parameters, clipped to [0, 1] after every step. Two
      phases use the single phase-1 channel; more phases use one channel each, with gradients projected onto the
      sum-preserving directions and the values clipped and renormalised to sum to 1. Starts from uniform noise.
    * ``"logits"``: :math:`m = \sigma(z)` for two phases (one channel), :math:`m = \mathrm{softmax}(z)` over the phase
      axis otherwise. Starts from standard-normal logits.

    Initial fields: sample ``s`` starts from noise drawn by a generator seeded with ``seed + s``, identical for every
    target, so results are reproducible and independent of how targets are batched.

    Args:
        target: microstructure(s) ``(targets, P, *spatial)``, or ``(targets, 1, *spatial)`` for the phase-1
            probability of a two-phase field; 1 to 3 spatial dimensions.
        target_statistics: instead of ``target``, precomputed statistics ``(targets, P, P, *offsets)`` from
            :func:`spatialstats.two_point_stats` with the same ``periodic``/``cutoff``; then ``shape`` is required.
        shape: spatial shape of the output, e.g. ``(64, 64)``; only with ``target_statistics``.
        loss: ``"msess"``, ``"cess"`` or ``"center_crop_cess"``.
        clamp_weight: weight :math:`\lambda \ge 0` of the clamp loss (0 switches it off).
        clamp_width: width :math:`\sigma` of the clamp loss's Gaussians.
        clamp_delay: fraction of ``steps`` in [0, 1) before the clamp loss is switched on; from then on its weight
            ramps up linearly to ``clamp_weight`` at the last step, so the statistics form before pixels are pushed
            to 0 or 1 (0: full weight from the start).
        parameterization: ``"clip"`` or ``"logits"``.
        periodic: periodic boundaries (default) or not.
        cutoff: offset half-width per axis; ``None`` means all offsets, except for ``"center_crop_cess"`` which
            defaults to 25.
        eps: the CESS logarithm's :math:`\epsilon`.
        num_samples: independent reconstructions per target (different seeds).
        optimizer: a ``torch.optim.Optimizer`` subclass, called as ``optimizer(params, lr=lr)``, or any callable
            ``factory(params)`` returning an optimizer (``lr`` is then ignored).
        lr: learning rate.
        steps: maximum number of optimizer steps, > 0.
        tolerance: early stopping: a reconstruction is frozen once its loss improved by less than ``tolerance``
            over the last ``patience`` steps; the loop ends when all are frozen. ``None`` runs all ``steps``.
        patience: window of steps for ``tolerance``.
        seed: base seed of the initial noise.
        device: where to compute; default the target's device.
        callback: called after every step as ``callback(step, losses, field)`` with the per-reconstruction losses
            ``(batch,)`` and the soft field ``(batch, P, *spatial)`` (both detached); returning ``True`` stops.
        progress: show a tqdm progress bar (needs tqdm; without it a warning and no bar).

    Returns:
        A :class:`~spatialstats.reconstruction.result.ReconstructionResult` of ``targets * num_samples``
        reconstructions, target-major.

    Example:
        >>> import torch
        >>> from spatialstats.reconstruction import reconstruct
        >>> target = torch.zeros(1, 1, 24, 24)
        >>> target[..., 6:14, 6:14] = 1.0
        >>> result = reconstruct(target, loss="cess", lr=0.1, steps=100, progress=False)
        >>> result.labels.shape, result.field.shape
        (torch.Size([1, 24, 24]), torch.Size([1, 2, 24, 24]))
        >>> bool(result.statistics_error < 0.02)
        True
    """
    loss_function, cutoff = _resolve_loss(loss, cutoff)
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}")
    _check_count(steps, "steps")
    _check_count(num_samples, "num_samples")
    _check_count(patience, "patience")
    _check_nonnegative(clamp_weight, "clamp_weight")
    _check_positive(lr, "lr")
    if tolerance is not None:
        _check_nonnegative(tolerance, "tolerance")
    _check_nonnegative(clamp_delay, "clamp_delay")
    if clamp_delay >= 1:
        raise ValueError(f"clamp_delay must be a fraction of steps in [0, 1), got {clamp_delay!r}")
    seed = check_int(seed, "seed")

    expected, spatial_shape, num_phases = _target_statistics(target, target_statistics, shape, periodic, cutoff, device)
    dtype, device = expected.dtype, expected.device
    expected = expected.repeat_interleave(num_samples, dim=0)
    batch = expected.shape[0]

    channels = 1 if num_phases == 2 else num_phases
    parameters = _initial_parameters(num_samples, batch // num_samples, channels, spatial_shape, parameterization, seed)
    parameters = parameters.to(device=device, dtype=dtype).requires_grad_(True)
    if parameterization == "clip" and channels > 1:
        # Keep steps tangent to the simplex: without this, losses that want every probability larger (CESS) move all
        # channels alike and the renormalisation undoes the step.
        parameters.register_hook(lambda gradient: gradient - gradient.mean(dim=1, keepdim=True))
    optim = _make_optimizer(optimizer, parameters, lr)

    def soft_field() -> torch.Tensor:
        if parameterization == "clip":
            return parameters
        return torch.sigmoid(parameters) if channels == 1 else torch.softmax(parameters, dim=1)

    def per_sample_loss(field: torch.Tensor, step: int) -> torch.Tensor:
        value = loss_function(
            field, target_statistics=expected, periodic=periodic, cutoff=cutoff, eps=eps, reduction="none", check_values=False
        )
        weight = _clamp_schedule(clamp_weight, clamp_delay, step, steps)
        if weight > 0:
            value = value + weight * clamp_loss(field, width=clamp_width, reduction="none", check_values=False)
        return value

    history: list[torch.Tensor] = []
    converged = torch.zeros(batch, dtype=torch.bool, device=device)
    frozen = parameters.detach().clone()
    start = time.perf_counter()
    steps_run = 0
    for step in progress_bar(range(steps), enabled=progress, desc="reconstruct"):
        optim.zero_grad(set_to_none=True)
        losses = per_sample_loss(soft_field(), step)
        losses.sum().backward()
        optim.step()
        with torch.no_grad():
            if parameterization == "clip":
                _project(parameters)
            if converged.any():
                parameters[converged] = frozen[converged]
        current = losses.detach()
        if history:
            current = torch.where(converged, history[-1], current)
        history.append(current)
        steps_run = step + 1
        if tolerance is not None and len(history) > patience:
            newly = (history[-1 - patience] - current < tolerance) & ~converged
            if newly.any():
                frozen[newly] = parameters.detach()[newly]
                converged |= newly
        if callback is not None and callback(step, current, _full_field(soft_field().detach())) is True:
            break
        if bool(converged.all()):
            break
    seconds = time.perf_counter() - start

    with torch.no_grad():
        field = _full_field(soft_field().detach())
        labels = binarize(field)
        errors = statistics_error(labels, expected, periodic=periodic, cutoff=cutoff)
    return ReconstructionResult(
        field=field,
        labels=labels,
        one_hot=one_hot_from_labels(labels, num_phases).to(dtype),
        loss_history=torch.stack(history),
        statistics_error=errors,
        target_statistics=expected,
        converged=converged,
        steps_run=steps_run,
        seconds=seconds,
    )


def _clamp_schedule(weight: float, delay: float, step: int, steps: int) -> float:
    """Clamp weight at ``step``: 0 before ``delay * steps``, then linear up to ``weight`` at the last step."""
    if weight == 0 or delay == 0:
        return weight
    start = delay * steps
    if step < start:
        return 0.0
    return weight * min(1.0, (step - start + 1) / max(steps - start, 1.0))


def _resolve_loss(loss: object, cutoff: int | Sequence[int] | None) -> tuple[Callable[..., torch.Tensor], object]:
    if loss == "msess":
        return _without_eps(msess), cutoff
    if loss == "cess":
        return cess, cutoff
    if loss == "center_crop_cess":
        return center_crop_cess, CENTER_CROP_DEFAULT_CUTOFF if cutoff is None else cutoff
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _without_eps(function: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def call(*args: object, eps: float, **kwargs: object) -> torch.Tensor:
        return function(*args, **kwargs)

    return call


def _check_count(value: object, name: str) -> None:
    if check_int(value, name) <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _check_nonnegative(value: object, name: str) -> None:
    check_number(value, name, low=0)


def _check_positive(value: object, name: str) -> None:
    check_number(value, name, low=0, low_open=True)


def _target_statistics(
    target: torch.Tensor | None,
    target_statistics: torch.Tensor | None,
    shape: Sequence[int] | None,
    periodic: bool,
    cutoff: object,
    device: torch.device | str | None,
) -> tuple[torch.Tensor, tuple[int, ...], int]:
    """Target statistics ``(targets, P, P, *offsets)``, the output's spatial shape and the number of phases."""
    if (target is None) == (target_statistics is None):
        raise ValueError("give exactly one of target (a microstructure) and target_statistics (with shape)")
    if target is not None:
        if not isinstance(target, torch.Tensor):
            raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
        if shape is not None:
            raise ValueError("shape is only used with target_statistics; the target's own shape is used otherwise")
        if not target.is_floating_point():
            raise TypeError(f"target must be a floating-point tensor of phase probabilities, got dtype {target.dtype}")
        if target.ndim not in (3, 4, 5):
            raise ValueError(
                f"target must have shape (targets, phases, *spatial) with 1 to 3 spatial axes, got {tuple(target.shape)}"
            )
        target = target.to(device) if device is not None else target
        statistics = statistics_of(target, "target", periodic=periodic, cutoff=cutoff)
        return statistics, tuple(target.shape[2:]), statistics.shape[1]
    if not isinstance(target_statistics, torch.Tensor) or not target_statistics.is_floating_point():
        raise TypeError(f"target_statistics must be a floating-point torch.Tensor, got {target_statistics!r:.60}")
    if shape is None:
        raise ValueError("shape (the output's spatial shape) is required with target_statistics")
    spatial_shape = tuple(shape)
    if not 1 <= len(spatial_shape) <= 3 or not all(is_int(n) and n > 0 for n in spatial_shape):
        raise ValueError(f"shape must be 1 to 3 positive ints, got {shape!r}")
    num_phases = target_statistics.shape[1] if target_statistics.ndim >= 3 else 0
    probe = two_point_stats(
        torch.zeros((1, max(num_phases, 1), *spatial_shape), dtype=target_statistics.dtype),
        periodic=periodic,
        cutoff=cutoff,
        check_values=False,
    )
    wanted = (num_phases, num_phases, *probe.shape[3:])
    if num_phases < 2 or tuple(target_statistics.shape[1:]) != wanted:
        raise ValueError(
            f"target_statistics must have shape (targets, P, P, *offsets) = (targets, {', '.join(map(str, wanted[1:]))}) "
            f"for shape {spatial_shape} with periodic={periodic}, cutoff={cutoff}, got {tuple(target_statistics.shape)}"
        )
    statistics = target_statistics.to(device) if device is not None else target_statistics
    return statistics, spatial_shape, num_phases


def _initial_parameters(
    num_samples: int, num_targets: int, channels: int, spatial_shape: tuple[int, ...], parameterization: str, seed: int
) -> torch.Tensor:
    """Noise for each sample from its own generator (seed + sample), shared by all targets; float64 on the CPU."""
    samples = []
    for sample in range(num_samples):
        generator = torch.Generator().manual_seed(seed + sample)
        size = (1, channels, *spatial_shape)
        if parameterization == "clip":
            noise = torch.rand(size, generator=generator, dtype=torch.float64)
            if channels > 1:
                noise = noise / noise.sum(dim=1, keepdim=True)
        else:
            noise = torch.randn(size, generator=generator, dtype=torch.float64)
        samples.append(noise)
    per_target = torch.cat(samples)
    return per_target.repeat(num_targets, *([1] * (per_target.ndim - 1)))


def _make_optimizer(
    optimizer: type[torch.optim.Optimizer] | OptimizerFactory, parameters: torch.Tensor, lr: float
) -> torch.optim.Optimizer:
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer([parameters], lr=lr)
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class or a factory(params), got {optimizer!r}")
    made = optimizer([parameters])
    if not isinstance(made, torch.optim.Optimizer):
        raise TypeError(f"the optimizer factory must return a torch.optim.Optimizer, got {type(made).__name__}")
    return made


def _project(parameters: torch.Tensor) -> None:
    """Clip pixel values to [0, 1]; with several channels also renormalise them to sum to 1."""
    parameters.clamp_(0.0, 1.0)
    if parameters.shape[1] > 1:
        total = parameters.sum(dim=1, keepdim=True)
        uniform = torch.full_like(parameters, 1.0 / parameters.shape[1])
        parameters.copy_(torch.where(total > 0, parameters / total.clamp_min(1e-12), uniform))


def _full_field(field: torch.Tensor) -> torch.Tensor:
    """All phase channels: a single phase-1 channel becomes (1 - p, p)."""
    return torch.cat([1 - field, field], dim=1) if field.shape[1] == 1 else field
