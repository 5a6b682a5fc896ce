"""Reconstruction of microstructures from 2-point statistics: gradient descent and a simulated-annealing baseline."""

from spatialstats.reconstruction.annealing import AnnealingResult, anneal
from spatialstats.reconstruction.morphology import MorphologyReport, morphology
from spatialstats.reconstruction.result import ReconstructionResult, binarize, statistics_error
from spatialstats.reconstruction.reconstruct import reconstruct

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
