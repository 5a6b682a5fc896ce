"""The style experiment's loss: :class:`spatialstats.style.VGG19StyleLoss` with the example's command-line wording.

Example:
    >>> import torch
    >>> style = VGG19StyleLoss(None, allow_random_weights=True)
    >>> x = torch.rand(2, 1, 32, 32)
    >>> style(x, x).tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

import os

from spatialstats import style as _library
from spatialstats.style import STYLE_LAYER_INDICES, VGG19_LAYOUT, gram_matrix, load_vgg19_features, vgg19_features

__all__ = ["VGG19_LAYOUT", "STYLE_LAYER_INDICES", "vgg19_features", "load_vgg19_features", "gram_matrix", "VGG19StyleLoss"]


class VGG19StyleLoss(_library.VGG19StyleLoss):
    """``weights_path`` (``--style-weights``) or, with ``allow_random_weights`` (``--style-random-weights``), random
    weights; a missing choice is refused with the options to pass."""

    def __init__(self, weights_path: str | os.PathLike | None, *, allow_random_weights: bool = False) -> None:
        if weights_path is None and not allow_random_weights:
            raise ValueError(
                "the style experiment needs VGG-19 weights: pass --style-weights PATH (a torchvision-format "
                "state dict, e.g. saved with torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1')"
                ".state_dict(), PATH) on a machine with internet), or --style-random-weights for a smoke test"
            )
        try:
            super().__init__(weights_path, random_weights=weights_path is None)
        except (ValueError, FileNotFoundError) as error:
            raise type(error)(f"--style-{error}") from None
