r"""TAESD-inspired convolutional VAE for binary (two-phase) or n-phase microstructures.

The architecture follows TAESD's plain-convolution design (no normalisation layers):

* ``Block(n_in, n_out)``: :math:`\mathrm{ReLU}(g(x) + s(x))` with :math:`g` = conv3x3-ReLU-conv3x3-ReLU-conv3x3 and
  :math:`s` a bias-free 1x1 convolution when the channel count changes, else the identity.
* Encoder: conv(in, w)-ReLU, Block, then per stage a stride-2 conv(w, w, no bias)-ReLU and ``depth`` Blocks, and two
  3x3 heads giving the latent mean :math:`\mu` and log-variance :math:`\log\sigma^2`.
* Decoder: soft clamp :math:`3\tanh(z/3)`, conv-ReLU, per stage ``depth`` Blocks, nearest 2x upsampling and a bias-free
  conv-ReLU, then a final Block and a conv to the output logits.

With four stages a 224 x 224 image maps to a 14 x 14 latent grid. The latent is sampled with the
reparameterization :math:`z = \mu + \sigma \odot \epsilon`, :math:`\epsilon \sim \mathcal N(0, I)`.

Example:
    >>> import torch
    >>> from vae_micro2d.model import MicrostructureVAE
    >>> model = MicrostructureVAE(width=8, depth=1, latent_channels=2)
    >>> logits, mean, log_variance = model(torch.rand(2, 1, 32, 32))
    >>> tuple(logits.shape), tuple(mean.shape)
    ((2, 1, 32, 32), (2, 2, 2, 2))
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Block", "Encoder", "Decoder", "MicrostructureVAE", "kl_divergence"]


def _conv(n_in: int, n_out: int, *, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, kernel_size=3, stride=stride, padding=1, bias=bias)


class Block(nn.Module):
    """Residual block: three 3x3 convolutions with ReLUs, plus a (1x1 when needed) skip, then ReLU."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            _conv(n_in, n_out), nn.ReLU(), _conv(n_out, n_out), nn.ReLU(), _conv(n_out, n_out)
        )
        self.skip = nn.Conv2d(n_in, n_out, kernel_size=1, bias=False) if n_in != n_out else nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.conv(x) + self.skip(x))


class _SoftClamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


class Encoder(nn.Module):
    """Image ``(batch, in_channels, H, W)`` -> latent mean and log-variance ``(batch, latent, H/2^s, W/2^s)``."""

    def __init__(self, in_channels: int, latent_channels: int, *, width: int, depth: int, stages: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(in_channels, width), nn.ReLU(), Block(width, width)]
        for _ in range(stages):
            layers += [_conv(width, width, stride=2, bias=False), nn.ReLU()]
            layers += [Block(width, width) for _ in range(depth)]
        self.body = nn.Sequential(*layers)
        self.mean_head = _conv(width, latent_channels)
        self.log_variance_head = _conv(width, latent_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.mean_head(features), self.log_variance_head(features)


class Decoder(nn.Module):
    """Latent ``(batch, latent, h, w)`` -> output logits ``(batch, out_channels, h 2^s, w 2^s)``."""

    def __init__(self, latent_channels: int, out_channels: int, *, width: int, depth: int, stages: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [_SoftClamp(), _conv(latent_channels, width), nn.ReLU()]
        for _ in range(stages):
            layers += [Block(width, width) for _ in range(depth)]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(width, width, bias=False), nn.ReLU()]
        layers += [Block(width, width), _conv(width, out_channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class MicrostructureVAE(nn.Module):
    """VAE whose decoder returns logits of the phase probabilities.

    Args:
        phases: number of phases. 2 (default) uses one input/output channel, the phase-1 probability
            (``probabilities`` applies a sigmoid); more phases use one channel per phase and a softmax.
        latent_channels: channels of the latent grid.
        depth: Blocks per stage in the encoder and the decoder.
        width: feature channels of every convolution (64 in TAESD).
        stages: number of 2x down/up-sampling stages (4: 224 -> 14).
    """

    def __init__(
        self, *, phases: int = 2, latent_channels: int = 4, depth: int = 3, width: int = 64, stages: int = 4
    ) -> None:
        super().__init__()
        for name, value in (("latent_channels", latent_channels), ("depth", depth), ("width", width), ("stages", stages)):
            _check_positive_int(name, value)
        _check_positive_int("phases", phases)
        if phases < 2:
            raise ValueError(f"phases must be >= 2, got {phases}")
        self.phases = phases
        self.stages = stages
        channels = 1 if phases == 2 else phases
        self.encoder = Encoder(channels, latent_channels, width=width, depth=depth, stages=stages)
        self.decoder = Decoder(latent_channels, channels, width=width, depth=depth, stages=stages)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        expected_channels = 1 if self.phases == 2 else self.phases
        if x.ndim != 4 or x.shape[1] != expected_channels:
            raise ValueError(f"x must have shape (batch, {expected_channels}, H, W), got {tuple(x.shape)}")
        factor = 2**self.stages
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"x spatial size must be divisible by 2**stages = {factor}, got {tuple(x.shape[-2:])}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @staticmethod
    def reparameterize(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
        return mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Phase probabilities from decoder logits: sigmoid (two phases, one channel) or softmax over phases."""
        return torch.sigmoid(logits) if self.phases == 2 else torch.softmax(logits, dim=1)

    def forward(self, x: torch.Tensor, *, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(logits, mean, log_variance)``; ``sample=False`` decodes the mean (deterministic)."""
        mean, log_variance = self.encode(x)
        z = self.reparameterize(mean, log_variance) if sample else mean
        return self.decode(z), mean, log_variance


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    r"""Per-sample KL divergence to :math:`\mathcal N(0, I)`, averaged over latent elements.

    .. math::

        D_\mathrm{KL} = -\frac{1}{2|z|} \sum_j \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    Example:
        >>> import torch
        >>> kl_divergence(torch.zeros(3, 2, 4, 4), torch.zeros(3, 2, 4, 4)).abs().tolist()
        [0.0, 0.0, 0.0]
        >>> round(kl_divergence(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item(), 4)
        0.5
    """
    terms = 1 + log_variance - mean.square() - log_variance.exp()
    return -0.5 * terms.flatten(1).mean(dim=1)
