"""Microstructure descriptors beyond the 2-point statistics.

Differentiable: :func:`lineal_path`, :func:`radial_two_point_stats`, :func:`directional_two_point_stats`,
:func:`surface_correlations`. Exact and non-differentiable (binary fields): :func:`chord_length_distribution`,
:func:`connected_components`, :func:`cluster_function`. :class:`DescriptorLoss` combines descriptors into one
weighted loss.
"""

from spatialstats.descriptors.chords import chord_length_distribution
from spatialstats.descriptors.cluster import cluster_function, connected_components
from spatialstats.descriptors.lineal_path import lineal_path
from spatialstats.descriptors.loss import DESCRIPTORS, DescriptorLoss
from spatialstats.descriptors.surface import interface_indicator, surface_correlations
from spatialstats.descriptors.radial import directional_two_point_stats, radial_two_point_stats

__all__ = [
    "lineal_path",
    "radial_two_point_stats",
    "directional_two_point_stats",
    "interface_indicator",
    "surface_correlations",
    "chord_length_distribution",
    "connected_components",
    "cluster_function",
    "DescriptorLoss",
    "DESCRIPTORS",
]
