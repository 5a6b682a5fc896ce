"""Reconstruction of microstructures from 2-point statistics: gradient descent and a simulated-annealing baseline."""

from spatialstats.reconstruction.annealing import AnnealingResult, anneal
from spatialstats.reconstruction.optimizers import LBFGSB
from spatialstats.reconstruction.morphology import MorphologyReport, morphology
from spatialstats.reconstruction.result import ReconstructionResult, binarize, statistics_error
from spatialstats.reconstruction.reconstruct import reconstruct
from spatialstats.reconstruction.slices import reconstruct_from_slices, slice_statistics

__all__ = [
    "reconstruct",
    "ReconstructionResult",
    "statistics_error",
    "binarize",
    "anneal",
    "AnnealingResult",
    "morphology",
    "MorphologyReport",
]
__all__ += ["reconstruct_from_slices", "slice_statistics"]
__all__ += ["LBFGSB"]
