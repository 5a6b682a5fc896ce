r"""Gram-matrix style loss on VGG-19 features, with the VGG-19 convolutions defined in code (no torchvision).

The feature extractor reproduces torchvision's ``vgg19().features`` layer for layer (same module indices), so a
torchvision-format state dict (keys ``features.<i>.weight``/``bias``; ``classifier.*`` keys are ignored) loads
into it. Nothing is downloaded: pass a saved state dict (or its path); random weights only when asked explicitly
(``random_weights=True``; the loss is then not meaningful beyond smoke tests).

For a feature map :math:`\phi_l(x) \in \mathbb R^{C_l \times H_l W_l}` the Gram matrix is
:math:`G_l(x) = \phi_l(x)\,\phi_l(x)^\top / (C_l H_l W_l)` and the per-sample loss is

.. math::

    \mathcal L_\mathrm{style}(x, y) = \sum_{l} \frac{1}{C_l^2} \lVert G_l(x) - G_l(y) \rVert_F^2

over the ``relu1_1, relu2_1, relu3_1, relu4_1, relu5_1`` layers. Single-channel images are repeated to RGB; images
in [0, 1] are normalised with the ImageNet mean and standard deviation.

References:
    L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016.
    K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015.

Example:
    >>> import torch
    >>> from spatialstats.style import VGG19StyleLoss
    >>> style = VGG19StyleLoss(random_weights=True)
    >>> x = torch.rand(2, 1, 32, 32)
    >>> style(x, x).tolist()
    [0.0, 0.0]
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping

import torch
from torch import nn

from spatialstats._validation import check_reduction
from spatialstats.functional._common import reduce

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
    """VGG-19 convolutional part with torchvision's module indices (randomly initialised).

    Example:
        >>> from spatialstats.style import STYLE_LAYER_INDICES, vgg19_features
        >>> features = vgg19_features()
        >>> len(features), type(features[STYLE_LAYER_INDICES[-1]]).__name__
        (37, 'ReLU')
    """
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
    return nn.Sequential(*layers)


def _read_state(weights: str | os.PathLike) -> Mapping[str, torch.Tensor]:
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"weights: VGG-19 weights file not found: {os.fspath(weights)}")
    try:
        return torch.load(weights, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"weights: {os.fspath(weights)} is not a state dict of tensors that torch.load reads with "
                         f"weights_only=True (a pickled module or another file?): {reason}") from None


def load_vgg19_features(weights: str | os.PathLike | Mapping[str, torch.Tensor]) -> nn.Sequential:
    """VGG-19 features with weights from a torchvision-format state dict, or the path of one
    (``torch.save(torchvision.models.vgg19(weights="IMAGENET1K_V1").state_dict(), PATH)``).

    Raises:
        FileNotFoundError: no file at the path.
        ValueError: not a state dict of tensors, or not VGG-19's.

    Example:
        >>> from spatialstats.style import load_vgg19_features, vgg19_features
        >>> state = {f"features.{k}": v for k, v in vgg19_features().state_dict().items()}
        >>> load_vgg19_features(state)[0].weight.shape
        torch.Size([64, 3, 3, 3])
    """
    name = "state dict" if isinstance(weights, Mapping) else os.fspath(weights)
    state = weights if isinstance(weights, Mapping) else _read_state(weights)
    if not isinstance(state, Mapping) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise ValueError(f"weights: {name} must hold a state dict (names -> tensors), got {type(state).__name__}")
    features_state = {key[len("features.") :]: value for key, value in state.items() if key.startswith("features.")}
    features = vgg19_features()
    try:
        features.load_state_dict(features_state or dict(state), strict=True)
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[0]
        raise ValueError(f"weights: {name} is not a torchvision VGG-19 state dict: {reason}") from None
    return features


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    r"""Normalised Gram matrices ``(batch, C, C)`` of ``(batch, C, H, W)`` features: :math:`\phi\phi^\top/(CHW)`.

    Example:
        >>> import torch
        >>> from spatialstats.style import gram_matrix
        >>> gram_matrix(torch.ones(1, 2, 3, 3)).tolist()
        [[[0.5, 0.5], [0.5, 0.5]]]
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape (batch, C, H, W), got {tuple(features.shape)}")
    batch, channels = features.shape[:2]
    flat = features.reshape(batch, channels, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[-1] / channels


class VGG19StyleLoss(nn.Module):
    """Per-sample Gram-matrix style loss ``(batch,)`` between images in [0, 1] of 1 or 3 channels.

    Args:
        weights: torchvision-format VGG-19 state dict, or the path of one. Required unless ``random_weights``.
        random_weights: use random weights instead (smoke tests only: the loss is then not meaningful).
        reduction: ``"none"`` (default: one value per sample, what a per-sample training loop or
            :func:`~spatialstats.reconstruction.reconstruct` needs), ``"mean"`` or ``"sum"`` over the batch, as in
            ``torch.nn``.

    Shapes: ``prediction`` and ``target`` ``(batch, 1 or 3, H, W)``, ``H, W >= 16``; output ``(batch,)``, or a
    scalar with ``reduction="mean"``/``"sum"``.

    .. math::

        \\mathcal L(\\hat x, x) = \\sum_{l} \\frac{1}{C_l^2} \\lVert G_l(\\hat x) - G_l(x) \\rVert_F^2

    with :math:`G_l` the normalised Gram matrix (:func:`gram_matrix`) of the features at the layers
    :data:`STYLE_LAYER_INDICES`, as in the module's introduction.

    Example:
        >>> import torch
        >>> from spatialstats.style import VGG19StyleLoss
        >>> loss = VGG19StyleLoss(random_weights=True)  # real use: VGG19StyleLoss("vgg19.pth")
        >>> images = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> loss(images, images).tolist()
        [0.0, 0.0]
        >>> VGG19StyleLoss(random_weights=True, reduction="mean")(images, images)
        tensor(0.)

    References:
        Gatys, Ecker and Bethge, *A Neural Algorithm of Artistic Style*, arXiv:1508.06576 (2015).
    """

    def __init__(self, weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None, *,
                 random_weights: bool = False, reduction: str = "none") -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        if not isinstance(random_weights, bool):
            raise TypeError(f"random_weights must be a bool, got {type(random_weights).__name__}")
        if weights is None and not random_weights:
            raise ValueError("weights is required: pass a torchvision-format VGG-19 state dict or its path (saved with "
                             "torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), PATH) on a "
                             "machine with internet), or random_weights=True for a smoke test")
        if weights is not None and random_weights:
            raise ValueError("pass either weights or random_weights=True, not both")
        features = vgg19_features() if weights is None else load_vgg19_features(weights)
        self.random_weights = random_weights
        self.features = features[: max(STYLE_LAYER_INDICES) + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "VGG19StyleLoss":
        """Set the training mode of the module; the VGG-19 feature extractor always stays in evaluation mode."""
        super().train(mode)
        self.features.eval()  # frozen feature extractor, whatever the mode of the model it serves
        return self

    def _grams(self, images: torch.Tensor, argument: str) -> list[torch.Tensor]:
        if images.ndim != 4 or images.shape[1] not in (1, 3) or min(images.shape[-2:]) < 16:
            raise ValueError(f"{argument} must have shape (batch, 1 or 3, H, W) with H, W >= 16, got {tuple(images.shape)}")
        x = (images.expand(-1, 3, -1, -1) - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        grams = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in STYLE_LAYER_INDICES:
                grams.append(gram_matrix(x))
        return grams

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Style loss of ``prediction`` against ``target``, both ``(batch, 1 or 3, H, W)`` in [0, 1]: one value per
        sample ``(batch,)``, reduced as ``reduction`` says (the target's Gram matrices carry no gradient)."""
        with torch.no_grad():
            target_grams = self._grams(target, "target")
        loss = prediction.new_zeros(prediction.shape[0])
        for predicted, expected in zip(self._grams(prediction, "prediction"), target_grams):
            loss = loss + (predicted - expected).square().sum(dim=(1, 2)) / predicted.shape[1] ** 2
        return reduce(loss, self.reduction)
