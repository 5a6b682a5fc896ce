"""spatialstats: batched, differentiable 2-point statistics of microstructures, and losses built on them.

The functional layer lives in :mod:`spatialstats.functional`; this namespace holds the statistics, the field
builders, the ``torch.nn.Module`` losses and reconstruction from statistics (:mod:`spatialstats.reconstruction`);
:mod:`spatialstats.synthetic` generates test microstructures.
"""

from spatialstats import descriptors, functional, style, synthetic
from spatialstats.functional._elementwise import get_elementwise_fusion, set_elementwise_fusion
from spatialstats.functional._fused import get_chunk_pixels, set_chunk_pixels
from spatialstats._window_dft import get_window_method, set_window_method
from spatialstats.fields import one_hot_from_labels, two_phase_from_probability
from spatialstats.offsets import offset_axes, offset_grid
from spatialstats.losses import CenterCropCESSLoss, CESSLoss, ClampLoss, MSECESSLoss, MSESSLoss, TransportSSLoss
from spatialstats.reconstruction import ReconstructionResult, anneal, reconstruct, statistics_error
from spatialstats.statistics import two_point_stats

__version__ = "0.1.0"

__all__ = [
    "two_point_stats",
    "offset_grid",
    "offset_axes",
    "one_hot_from_labels",
    "two_phase_from_probability",
    "MSESSLoss",
    "CESSLoss",
    "CenterCropCESSLoss",
    "ClampLoss",
    "MSECESSLoss",
    "TransportSSLoss",
    "reconstruct",
    "ReconstructionResult",
    "statistics_error",
    "anneal",
    "functional",
    "synthetic",
    "descriptors",
    "style",
    "set_chunk_pixels",
    "get_chunk_pixels",
    "set_window_method",
    "get_window_method",
    "set_elementwise_fusion",
    "get_elementwise_fusion",
]
