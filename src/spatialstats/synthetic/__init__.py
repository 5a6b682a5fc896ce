"""Seeded, batched generators of test microstructures, returned as ``torch.long`` label maps ``(batch, *spatial)``.

Families: :func:`circles` (the paper's target [CHPG]_; spheres in 3D), :func:`ellipses`, :func:`voids`,
:func:`gaussian_random_field` (thresholded, isotropic or anisotropic, two or more phases) and :func:`voronoi`
(grain boundaries, or grains of several phases). Labels run over ``0 .. phases - 1``; for two-phase families
phase 1 is the feature (inclusions, voids, boundaries).

Randomness: every generator takes ``seed: int | None``. Its random draws come from a fresh CPU
:class:`torch.Generator` seeded with it, then move to ``device``, so a seed gives the same microstructure on every
device (up to floating-point rounding in the Gaussian fields' FFT) and leaves the global RNG alone;
``seed=None`` draws fresh entropy.

Turn labels into phase fields with :func:`spatialstats.one_hot_from_labels`, or ``labels.float().unsqueeze(1)``
for the phase-1 channel of a two-phase microstructure.

The families resemble classes of the MICRO2D data set [MICRO2D]_ (GRF, AngEllipse, VoidSmall, Voronoi), so that
the examples and tests can run without it.

Example:
    >>> import spatialstats as ss
    >>> labels = ss.synthetic.circles(2, 64, count=3, radius=8, seed=0)
    >>> labels.shape, labels.dtype, sorted(labels.unique().tolist())
    (torch.Size([2, 64, 64]), torch.int64, [0, 1])
"""

from spatialstats.synthetic.circles import circles
from spatialstats.synthetic.ellipses import ellipses
from spatialstats.synthetic.gaussian_fields import gaussian_random_field, threshold_by_fractions
from spatialstats.synthetic.voids import voids
from spatialstats.synthetic.voronoi import voronoi

__all__ = ["circles", "ellipses", "voids", "gaussian_random_field", "threshold_by_fractions", "voronoi"]
