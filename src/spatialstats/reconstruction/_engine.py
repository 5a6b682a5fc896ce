"""Reusable stages of gradient-based reconstruction: loss table, clamp schedule, optimizer step, early stopping.

Private to the package; :func:`spatialstats.reconstruction.reconstruct` and the 3D-from-slices reconstruction
share them so that both read the same options the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from spatialstats._validation import ArgumentTypeError
from spatialstats.functional import center_crop_cess, cess, clamp_loss, msess
from spatialstats.reconstruction.optimizers import LBFGSB

PerSampleLoss = Callable[[torch.Tensor], torch.Tensor]
OptimizerFactory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]


def _msess(field: torch.Tensor, *, eps: float, **options: object) -> torch.Tensor:
    return msess(field, **options)  # type: ignore[arg-type]


# name -> (statistics loss ``f(field, target_statistics=, periodic=, cutoff=, eps=, reduction=, check_values=)``,
# cutoff used when the caller gives none)
LOSS_TABLE: dict[str, tuple[Callable[..., torch.Tensor], int | None]] = {
    "msess": (_msess, None),
    "cess": (cess, None),
    "center_crop_cess": (center_crop_cess, 25),
}


def resolve_loss(loss: object, cutoff: int | Sequence[int] | None) -> tuple[object, int | Sequence[int] | None]:
    """Check ``loss`` (a name of :data:`LOSS_TABLE` or a callable) and fill in the loss's default cutoff."""
    if callable(loss):
        return loss, cutoff
    if not isinstance(loss, str) or loss not in LOSS_TABLE:
        raise ValueError(f"loss must be one of {tuple(LOSS_TABLE)} or a callable fields -> (batch,) losses, got {loss!r}")
    default = LOSS_TABLE[loss][1]
    return loss, default if cutoff is None else cutoff


def statistics_loss(
    loss: str, target_statistics: torch.Tensor, *, periodic: bool, cutoff: object, eps: float
) -> PerSampleLoss:
    """Per-sample statistics loss ``field -> (batch,)`` of a loss named in :data:`LOSS_TABLE`."""
    function = LOSS_TABLE[loss][0]

    def evaluate(field: torch.Tensor) -> torch.Tensor:
        return function(
            field, target_statistics=target_statistics, periodic=periodic, cutoff=cutoff, eps=eps,
            reduction="none", check_values=False,
        )

    return evaluate


def clamp_schedule(weight: float, delay: float, step: int, steps: int) -> float:
    """Clamp weight at ``step``: 0 before ``delay * steps``, then linear up to ``weight`` at the last step."""
    if weight == 0 or delay == 0:
        return weight
    start = delay * steps
    if step < start:
        return 0.0
    return weight * min(1.0, (step - start + 1) / max(steps - start, 1.0))


def with_clamp(
    objective: PerSampleLoss, *, weight: float, width: float, delay: float, steps: int
) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """``(field, step) -> objective(field) + clamp_schedule(step) * clamp_loss(field)``, per sample."""

    def evaluate(field: torch.Tensor, step: int) -> torch.Tensor:
        value = objective(field)
        current = clamp_schedule(weight, delay, step, steps)
        if current > 0:
            value = value + current * clamp_loss(field, width=width, reduction="none", check_values=False)
        return value

    return evaluate


# optimizers by name: ``reconstruct(..., optimizer="lbfgs-b")``
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"lbfgs-b": LBFGSB}


def smoothing_schedule(sigma: float, until: float, step: int, steps: int) -> float:
    """Blur width at ``step``: ``sigma`` decaying linearly to 0 at step ``until * steps`` (0 from then on)."""
    if sigma == 0 or until == 0:
        return 0.0
    return sigma * max(0.0, 1.0 - step / (until * steps))


def gaussian_blur(values: torch.Tensor, sigma: float, periodic: bool | Sequence[bool]) -> torch.Tensor:
    r"""Separable Gaussian blur of ``(batch, channels, *spatial)`` over the spatial axes, per channel.

    Kernel :math:`\propto e^{-k^2 / 2\sigma^2}` for :math:`|k| \le \lceil 3\sigma \rceil` (at most the axis length
    minus one), normalised to sum 1, so a blurred probability field stays a probability field. Periodic axes wrap
    around, others repeat their edge value. ``sigma == 0`` returns ``values`` itself.
    """
    if sigma <= 0:
        return values
    for axis in range(2, values.ndim):
        size = values.shape[axis]
        radius = min(math.ceil(3 * sigma), size - 1)
        if radius < 1:
            continue
        offsets = torch.arange(-radius, radius + 1, dtype=values.dtype, device=values.device)
        kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
        wraps = periodic if isinstance(periodic, bool) else periodic[axis - 2]
        moved = values.movedim(axis, -1)
        rows = torch.nn.functional.pad(
            moved.reshape(-1, 1, size), (radius, radius), mode="circular" if wraps else "replicate"
        )
        blurred = torch.nn.functional.conv1d(rows, (kernel / kernel.sum()).view(1, 1, -1))
        values = blurred.reshape(moved.shape).movedim(-1, axis)
    return values


def make_optimizer(
    optimizer: str | type[torch.optim.Optimizer] | OptimizerFactory, parameters: torch.Tensor, lr: float
) -> torch.optim.Optimizer:
    """``optimizer([parameters], lr=lr)`` for a class or a name of :data:`OPTIMIZERS` (L-BFGS with a strong-Wolfe
    line search), else the factory's."""
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:  # a TypeError as before names were accepted, and a ValueError
            raise ArgumentTypeError(
                f"optimizer must be one of {tuple(OPTIMIZERS)}, a torch.optim.Optimizer class or a factory(params), "
                f"got {optimizer!r}"
            )
        optimizer = OPTIMIZERS[optimizer]
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.LBFGS):
        # One iteration per step, so that steps, tolerance and patience count iterations; no built-in stopping on
        # tiny gradients (statistics losses have gradients of 1e-7 per pixel long before they are solved).
        return optimizer(
            [parameters], lr=lr, max_iter=1, line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer([parameters], lr=lr)
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer class or a factory(params), got {optimizer!r}")
    made = optimizer([parameters])
    if not isinstance(made, torch.optim.Optimizer):
        raise TypeError(f"the optimizer factory must return a torch.optim.Optimizer, got {type(made).__name__}")
    return made


def closure_based(optimizer: torch.optim.Optimizer) -> bool:
    """Optimizers that evaluate the closure several times per step and treat all parameters as one vector (line
    searches, curvature pairs): :func:`reconstruct` gives them one optimizer per reconstruction."""
    return isinstance(optimizer, (torch.optim.LBFGS, LBFGSB))


def check_box_parameterization(optimizer: object, parameterization: str) -> None:
    """Refuse :class:`LBFGSB` with its default box [0, 1] on logits (the box is meant for pixel values); ``optimizer``
    is what the caller gave (name, class) or the optimizer made."""
    boxed = (
        (isinstance(optimizer, str) and OPTIMIZERS.get(optimizer) is LBFGSB)
        or (isinstance(optimizer, type) and issubclass(optimizer, LBFGSB))
        or (isinstance(optimizer, LBFGSB) and optimizer.defaults["bounds"] == (0.0, 1.0))
    )
    if boxed and parameterization != "clip":
        raise ValueError(
            "optimizer LBFGSB ('lbfgs-b') keeps the parameters in [0, 1], which are pixel values only with "
            f"parameterization='clip', got parameterization={parameterization!r} (more than two phases default to "
            "'logits' on the fine multigrid level: pass parameterization='clip')"
        )


def optimizer_step(optimizer: torch.optim.Optimizer, evaluate: Callable[[], torch.Tensor]) -> torch.Tensor:
    """One ``optimizer.step(closure)``; works for plain and closure-based (L-BFGS) optimizers alike.

    ``evaluate()`` returns the per-sample losses ``(batch,)``; the closure backpropagates their sum. Returns the
    losses of the first evaluation (at the parameters before the step), detached.
    """
    first: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        losses = evaluate()
        total = losses.sum()
        total.backward()
        if not first:
            first.append(losses.detach())
        return total.detach()

    optimizer.step(closure)
    return first[0]


class EarlyStopping:
    """Per-reconstruction stopping: frozen once the loss improved by less than ``tolerance`` over ``patience`` steps.

    ``update(losses)`` records one step (frozen reconstructions keep their last loss) and returns the mask of
    reconstructions frozen at this step; ``converged`` is the mask of all frozen so far.
    """

    def __init__(self, tolerance: float | None, patience: int, batch: int, device: torch.device) -> None:
        self.tolerance, self.patience = tolerance, patience
        self.converged = torch.zeros(batch, dtype=torch.bool, device=device)
        self.history: list[torch.Tensor] = []

    def update(self, losses: torch.Tensor) -> torch.Tensor:
        current = torch.where(self.converged, self.history[-1], losses) if self.history else losses
        self.history.append(current)
        if self.tolerance is None or len(self.history) <= self.patience:
            return torch.zeros_like(self.converged)
        improvement = self.history[-1 - self.patience] - current
        newly = ~(improvement >= self.tolerance) & ~self.converged  # a NaN loss also stops
        self.converged |= newly
        return newly

    @property
    def done(self) -> bool:
        return bool(self.converged.all())
