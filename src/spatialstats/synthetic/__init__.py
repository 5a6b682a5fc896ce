"""Seeded, batched generators of test microstructures as ``torch.long`` label maps ``(batch, *spatial)``.

Turn them into phase fields with :func:`spatialstats.one_hot_from_labels`, or ``labels.float().unsqueeze(1)`` for
the phase-1 channel of a two-phase microstructure.
"""

from spatialstats.synthetic.gaussian_fields import gaussian_random_field, threshold_by_fractions
from spatialstats.synthetic.inclusions import circles, ellipses, voids
from spatialstats.synthetic.voronoi import voronoi

__all__ = ["circles", "ellipses", "voids", "gaussian_random_field", "threshold_by_fractions", "voronoi"]
