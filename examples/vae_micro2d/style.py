r"""Gram-matrix style loss on VGG-19 features (Gatys et al.), with the VGG-19 convolutions defined here.

The feature extractor reproduces torchvision's ``vgg19().features`` layer for layer (same indices), so a
torchvision-format state dict (keys ``features.<i>.weight``/``bias``; ``classifier.*`` keys are ignored) loads into
it. The weights cannot be downloaded by this example: pass the path of a saved state dict, or, for smoke tests only,
ask for random weights explicitly.

For a feature map :math:`\phi_l(x) \in \mathbb R^{C_l \times H_l W_l}` the Gram matrix is
:math:`G_l(x) = \phi_l(x)\,\phi_l(x)^\top / (C_l H_l W_l)` and the loss is

.. math::

    \mathcal L_\mathrm{style}(x, y) = \sum_{l} \frac{1}{C_l^2} \lVert G_l(x) - G_l(y) \rVert_F^2

over the ``relu1_1, relu2_1, relu3_1, relu4_1, relu5_1`` layers. Single-channel images are repeated to RGB and
normalised with the ImageNet mean and standard deviation.

Example:
    >>> import torch
    >>> style = VGG19StyleLoss(weights_path=None, allow_random_weights=True)
    >>> x = torch.rand(2, 1, 32, 32)
    >>> style(x, x).tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

import os
import pickle

import torch
from torch import nn

__all__ = ["VGG19_LAYOUT", "STYLE_LAYER_INDICES", "vgg19_features", "load_vgg19_features", "gram_matrix", "VGG19StyleLoss"]

#: Output channels of the VGG-19 convolutions; "M" is a 2x2 max-pool (torchvision's configuration "E").
VGG19_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)
#: Indices in ``features`` of relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1.
STYLE_LAYER_INDICES: tuple[int, ...] = (1, 6, 11, 20, 29)

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features() -> nn.Sequential:
    """VGG-19 convolutional part with torchvision's module indices (randomly initialised)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
    return nn.Sequential(*layers)


def load_vgg19_features(weights_path: str | os.PathLike) -> nn.Sequential:
    """VGG-19 features with weights from a torchvision-format state dict file (``torch.save(vgg19().state_dict())``)."""
    if not os.path.isfile(weights_path):
        raise FileNotFoundError(f"style weights: VGG-19 weights file not found: {os.fspath(weights_path)}")
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"style weights {os.fspath(weights_path)} is not a state dict of tensors that torch.load "
                         f"reads with weights_only=True (a pickled module or another file?): {reason}") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise ValueError(f"style weights {os.fspath(weights_path)} must hold a state dict (names -> tensors), got "
                         f"{type(state).__name__}")
    features_state = {key[len("features.") :]: value for key, value in state.items() if key.startswith("features.")}
    if not features_state:  # a state dict of `vgg19().features` itself
        features_state = dict(state)
    features = vgg19_features()
    try:
        features.load_state_dict(features_state, strict=True)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ValueError(f"style weights {os.fspath(weights_path)} is not a torchvision VGG-19 state dict: {reason}") from None
    return features


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    r"""Normalised Gram matrices ``(batch, C, C)`` of ``(batch, C, H, W)`` features: :math:`\phi\phi^\top/(CHW)`."""
    batch, channels = features.shape[:2]
    flat = features.reshape(batch, channels, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[-1] / channels


class VGG19StyleLoss(nn.Module):
    """Per-sample Gram-matrix style loss ``(batch,)`` between images in [0, 1] of 1 or 3 channels.

    Args:
        weights_path: torchvision-format VGG-19 state dict. ``None`` is refused unless ``allow_random_weights``.
        allow_random_weights: use random weights (smoke tests only: the loss is then not meaningful).
    """

    def __init__(self, weights_path: str | os.PathLike | None, *, allow_random_weights: bool = False) -> None:
        super().__init__()
        if weights_path is None:
            if not allow_random_weights:
                raise ValueError(
                    "the style experiment needs VGG-19 weights: pass --style-weights PATH (a torchvision-format "
                    "state dict, e.g. saved with torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1')"
                    ".state_dict(), PATH) on a machine with internet), or --style-random-weights for a smoke test"
                )
            features = vgg19_features()
        else:
            features = load_vgg19_features(weights_path)
        self.features = features[: max(STYLE_LAYER_INDICES) + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "VGG19StyleLoss":
        super().train(mode)
        self.features.eval()  # no dropout/batch-norm here, but keep it frozen in eval mode regardless
        return self

    def _grams(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must have shape (batch, 1 or 3, H, W), got {tuple(images.shape)}")
        x = (images.expand(-1, 3, -1, -1) - self.mean) / self.std
        grams = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in STYLE_LAYER_INDICES:
                grams.append(gram_matrix(x))
        return grams

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_grams = self._grams(target)
        loss = prediction.new_zeros(prediction.shape[0])
        for predicted, expected in zip(self._grams(prediction), target_grams):
            loss = loss + (predicted - expected).square().sum(dim=(1, 2)) / predicted.shape[1] ** 2
        return loss
