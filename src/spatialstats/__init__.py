"""spatialstats: batched, differentiable 2-point statistics of microstructures."""
