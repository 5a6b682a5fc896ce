"""The box-constrained L-BFGS (``LBFGSB``, ``reconstruct(optimizer="lbfgs-b")``): constrained minima, reconstruction
quality at equal function evaluations, box, stopping, batching, seeds and argument errors."""

from __future__ import annotations

import itertools

import pytest
import torch

import spatialstats as ss
from spatialstats.functional import msess
from spatialstats.reconstruction import LBFGSB, reconstruct


def _constrained_minimum(matrix: torch.Tensor, center: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Minimum of 0.5 (x - c)^T A (x - c) on the box, by enumerating active sets and checking the KKT conditions."""
    n = center.numel()
    gradient_at = lambda x: matrix @ (x - center)  # noqa: E731
    for pattern in itertools.product((low, high, None), repeat=n):
        x = torch.tensor([low if p is None else p for p in pattern], dtype=torch.float64)
        free = [i for i, p in enumerate(pattern) if p is None]
        fixed = [i for i, p in enumerate(pattern) if p is not None]
        if free:
            a_ff = matrix[free][:, free]
            rhs = matrix[free] @ center - matrix[free][:, fixed] @ x[fixed]
            x[free] = torch.linalg.solve(a_ff, rhs)
        g = gradient_at(x)
        inside = all(low <= x[i] <= high for i in free)
        kkt = all((p == low and g[i] >= 0) or (p == high and g[i] <= 0) for i, p in enumerate(pattern) if p is not None)
        if inside and kkt:
            return x
    raise AssertionError("no KKT point found")


@pytest.mark.parametrize("seed", range(4))
def test_quadratic_with_bounds_reaches_the_constrained_minimum(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    factor = torch.randn(5, 5, generator=generator, dtype=torch.float64)
    matrix = factor @ factor.T + 0.5 * torch.eye(5, dtype=torch.float64)  # coupled, so clipping the free minimum is wrong
    center = 0.5 + torch.randn(5, generator=generator, dtype=torch.float64)
    expected = _constrained_minimum(matrix, center, 0.0, 1.0)
    x = torch.full((5,), 0.5, dtype=torch.float64, requires_grad=True)
    optimizer = LBFGSB([x], lr=1.0, history_size=5)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = 0.5 * (x - center) @ matrix @ (x - center)
        loss.backward()
        return loss

    for _ in range(200):
        optimizer.step(closure)
        assert float(x.detach().min()) >= 0.0 and float(x.detach().max()) <= 1.0
    torch.testing.assert_close(x.detach(), expected, atol=1e-7, rtol=0)
    assert not torch.allclose(expected, center.clamp(0, 1), atol=1e-3)  # the test would catch a plain clip


def test_other_bounds_and_max_iter() -> None:
    x = torch.zeros(2, requires_grad=True)
    optimizer = LBFGSB([x], bounds=(-0.5, 0.25), max_iter=20)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (x - torch.tensor([-2.0, 0.1])).square().sum()
        loss.backward()
        return loss

    first = optimizer.step(closure)
    assert float(first.detach()) == pytest.approx(4.01)
    torch.testing.assert_close(x.detach(), torch.tensor([-0.5, 0.1]))


def _target(size: int = 32, seed: int = 3) -> torch.Tensor:
    return ss.one_hot_from_labels(ss.synthetic.circles(1, size=size, count=2, radius=5, seed=seed), dtype=torch.float64)


def _counted_msess(target: torch.Tensor, cutoff: int) -> tuple[list[int], object]:
    expected = ss.two_point_stats(target, cutoff=cutoff)
    calls = [0]

    def loss(fields: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        return msess(fields, target_statistics=expected, cutoff=cutoff, reduction="none", check_values=False)

    return calls, loss


def test_lbfgsb_beats_adam_at_equal_function_evaluations_and_stays_in_the_box() -> None:
    target = _target()
    calls, loss = _counted_msess(target, cutoff=8)
    seen = []
    box = dict(steps=60, clamp_weight=0.0, cutoff=8, progress=False)
    ours = reconstruct(target, loss=loss, optimizer="lbfgs-b", lr=1.0, callback=lambda s, l, f: seen.append(f), **box)
    evaluations = calls[0]
    assert 60 < evaluations <= 4 * 60
    assert all(float(f.min()) >= 0.0 and float(f.max()) <= 1.0 for f in seen)
    box["steps"] = evaluations
    adam = reconstruct(target, loss=loss, optimizer=torch.optim.Adam, lr=0.1, **box)
    assert calls[0] == 2 * evaluations
    ours_loss, adam_loss = float(ours.loss_history[-1, 0]), float(adam.loss_history[-1, 0])
    assert ours_loss < 0.5 * adam_loss, (ours_loss, adam_loss)
    assert ours_loss < 1e-4


def test_tolerance_and_patience_stop_it() -> None:
    options = dict(loss="msess", optimizer="lbfgs-b", lr=1.0, clamp_weight=0.0, cutoff=8, steps=400, progress=False)
    stopped = reconstruct(_target(), tolerance=1e-5, patience=5, **options)
    assert bool(stopped.converged.all()) and stopped.steps_run < 400
    history = stopped.loss_history[:, 0]
    assert float(history[-6] - history[-1]) < 1e-5 <= float(history[-7] - history[-2])
    later = reconstruct(_target(), tolerance=1e-5, patience=20, **options)
    assert later.steps_run > stopped.steps_run


def test_batched_equals_per_target_and_seeds_reproducible() -> None:
    targets = torch.cat([_target(24, seed=1), _target(24, seed=2)])
    options = dict(loss="msess", optimizer=LBFGSB, lr=1.0, clamp_weight=0.0, cutoff=6, steps=25, progress=False,
                   num_samples=2, tolerance=1e-9, patience=5)
    batched = reconstruct(targets, **options)
    singles = [reconstruct(targets[i : i + 1], **options) for i in range(2)]
    # up to rounding: the targets' statistics are computed in a batch of two or of one
    torch.testing.assert_close(batched.field, torch.cat([s.field for s in singles]), atol=1e-8, rtol=0)
    again = reconstruct(targets, **options)
    assert torch.equal(again.field, batched.field)
    other = reconstruct(targets, seed=5, **options)
    assert not torch.allclose(other.field, batched.field)
    assert not torch.allclose(batched.field[0], batched.field[1])  # two samples of one target differ


def test_more_phases_stay_on_the_simplex() -> None:
    labels = ss.synthetic.circles(1, size=24, count=3, radius=4, seed=0)
    labels[..., :6, :] = 2
    result = reconstruct(ss.one_hot_from_labels(labels, 3, dtype=torch.float64), optimizer="lbfgs-b", lr=1.0,
                         parameterization="clip", levels=1, loss="msess", clamp_weight=0.0, cutoff=6, steps=30,
                         progress=False)
    torch.testing.assert_close(result.field.sum(dim=1), torch.ones(1, 24, 24, dtype=torch.float64))
    assert float(result.field.min()) >= 0.0
    assert float(result.loss_history[-1, 0]) < 0.2 * float(result.loss_history[0, 0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(lr=0.0), ValueError, "lr must be"),
        (dict(history_size=0), ValueError, "history_size must be"),
        (dict(history_size=2.5), TypeError, "history_size must be"),
        (dict(max_iter=0), ValueError, "max_iter must be"),
        (dict(max_backtracks=0), ValueError, "max_backtracks must be"),
        (dict(c1=1.0), ValueError, "c1 must be"),
        (dict(bounds=(1.0, 0.0)), ValueError, "low < high"),
        (dict(bounds=(0.0, float("inf"))), ValueError, r"bounds\[1\] must be"),
        (dict(bounds=0.5), ValueError, "bounds must be a pair"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        LBFGSB([torch.zeros(2, requires_grad=True)], **kwargs)


def test_step_needs_a_closure_and_reconstruct_names_the_choices() -> None:
    with pytest.raises(ValueError, match="needs a closure"):
        LBFGSB([torch.zeros(2, requires_grad=True)]).step()
    with pytest.raises(ValueError, match="lbfgs-b"):
        reconstruct(_target(16, seed=0), optimizer="lbfgsb", steps=2, progress=False)
    with pytest.raises(ValueError, match="parameterization='clip', got parameterization='logits'"):
        reconstruct(_target(16, seed=0), optimizer="lbfgs-b", parameterization="logits", steps=2, progress=False)
    three = ss.one_hot_from_labels(torch.randint(0, 3, (1, 16, 16), generator=torch.Generator().manual_seed(0)), 3)
    with pytest.raises(ValueError, match="pass parameterization='clip'"):  # default fine level: logits
        reconstruct(three, optimizer=LBFGSB, steps=2, progress=False)
    wide = reconstruct(_target(16, seed=0), optimizer=lambda p: LBFGSB(p, bounds=(-30.0, 30.0)), loss="msess",
                       parameterization="logits", clamp_weight=0.0, steps=5, progress=False)  # a box meant for logits
    assert wide.steps_run == 5
    with pytest.raises(ValueError, match="one parameter group"):
        LBFGSB([{"params": [torch.zeros(1, requires_grad=True)]}, {"params": [torch.zeros(1, requires_grad=True)]}])
