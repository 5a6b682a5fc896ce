"""Functional form of the spatial-statistics losses (the :mod:`torch.nn.functional` of spatialstats)."""

from spatialstats.functional.clamp import clamp_loss
from spatialstats.functional.statistics_losses import CENTER_CROP_CUTOFF, center_crop_cess, cess, mse_cess, msess
from spatialstats.functional.transport import transport_ss

__all__ = ["msess", "cess", "center_crop_cess", "clamp_loss", "mse_cess", "CENTER_CROP_CUTOFF", "transport_ss"]
