"""Draw the figures of docs/descriptors.rst into docs/_static/descriptors/ (run from the repository root).

    PYTHONPATH=src python docs/figures/make_descriptor_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import spatialstats as ss  # noqa: E402
from spatialstats import descriptors as D  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "_static" / "descriptors"


def ellipses() -> torch.Tensor:
    """The running example: periodic aligned ellipses, 128x128, one channel (phase 1 = ellipses)."""
    return ss.synthetic.ellipses(1, 128, count=25, semi_axes=(16, 4), seed=1).double().unsqueeze(1)


def save(figure: plt.Figure, name: str) -> None:
    figure.savefig(OUT / name, dpi=90)
    plt.close(figure)
    print(OUT / name)


def image(axis: plt.Axes, values: torch.Tensor, title: str, cmap: str = "viridis") -> None:
    axis.imshow(values.numpy(), cmap=cmap, interpolation="nearest")
    axis.set_title(title, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])


def lineal_path_figure(field: torch.Tensor) -> None:
    values = D.lineal_path(field, max_length=40)[0]
    bernoulli = (torch.rand(8, 1, 128, 128, generator=torch.Generator().manual_seed(0)) < 0.6).double()
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.4), constrained_layout=True)
    image(axes[0], field[0, 0], "aligned ellipses (phase 1)")
    for axis_index, style in ((0, "-"), (1, "--")):
        axes[1].plot(values[1, axis_index], style, label=f"phase 1, along axis {axis_index}")
        axes[1].plot(values[0, axis_index], style, label=f"phase 0, along axis {axis_index}")
    axes[1].set(xlabel="segment length r (voxels)", ylabel="L(h | r e_a)", title="lineal path per axis")
    axes[1].legend(fontsize=7)
    r = torch.arange(11)
    axes[2].semilogy(r, D.lineal_path(bernoulli, max_length=10).mean(0)[1, 0], "o", label="Bernoulli(0.6) field")
    axes[2].semilogy(r, 0.6 ** (r + 1.0), "-", label="closed form 0.6^(r+1)")
    axes[2].set(xlabel="r", title="check: independent voxels")
    axes[2].legend(fontsize=7)
    save(figure, "lineal_path.png")


def radial_figure(field: torch.Tensor) -> None:
    values, radii = D.radial_two_point_stats(field, cutoff=40)
    profile = D.directional_two_point_stats(field, cutoff=40)[0, 1, 1]
    figure, axis = plt.subplots(figsize=(5.5, 3.4), constrained_layout=True)
    axis.plot(radii, values[0, 1, 1], "k-", label="radial average")
    lags = torch.arange(-40, 41)
    axis.plot(lags[40:], profile[0, 40:], "--", label="along axis 0 (ellipses' long axis)")
    axis.plot(lags[40:], profile[1, 40:], ":", label="along axis 1")
    axis.set(xlabel="|r| (voxels)", ylabel="f(1, 1 | r)", title="S2: radial average and per-axis profiles")
    axis.legend(fontsize=7)
    save(figure, "radial.png")


def surface_figure(field: torch.Tensor) -> None:
    interface = D.interface_indicator(field)[0, 1]
    f_ss, f_sv = D.surface_correlations(field, cutoff=20)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    image(axes[0], interface, f"interface indicator M, mean s_v = {float(interface.mean()):.4f}", cmap="magma")
    lags = torch.arange(21)
    axes[1].plot(lags, f_ss[0, 1, 20:, 20], label="F_ss along axis 0")
    axes[1].plot(lags, f_ss[0, 1, 20, 20:], label="F_ss along axis 1")
    axes[1].plot(lags, f_sv[0, 1, 1, 20, 20:], label="F_sv(1, 1) along axis 1")
    axes[1].plot(lags, f_sv[0, 1, 0, 20, 20:], label="F_sv(1, 0) along axis 1")
    axes[1].set(xlabel="r (voxels)", title="surface correlation functions")
    axes[1].legend(fontsize=7)
    save(figure, "surface.png")


def chords_figure(field: torch.Tensor) -> None:
    counts = D.chord_length_distribution(field)[0].double()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True, sharey=True)
    for phase, axis in enumerate(axes):
        for axis_index in range(2):
            density = counts[phase, axis_index] / counts[phase, axis_index].sum()
            axis.plot(density[:60], drawstyle="steps-mid", label=f"along axis {axis_index}")
        axis.set(xlabel="chord length (voxels)", title=f"phase {phase} chords")
        axis.legend(fontsize=7)
    axes[0].set_ylabel("fraction of chords")
    save(figure, "chords.png")


def cluster_figure(field: torch.Tensor) -> None:
    ids = D.connected_components(field)[0]
    _, compact = torch.unique(ids, return_inverse=True)
    shuffled = torch.randperm(int(compact.max()) + 1, generator=torch.Generator().manual_seed(0))[compact]
    c2 = D.cluster_function(field, cutoff=40)
    s2 = ss.two_point_stats(field, cutoff=40)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    image(axes[0], torch.where(field[0, 0] > 0, shuffled.double(), torch.nan), "clusters of phase 1 (periodic)", "tab20")
    lags = torch.arange(41)
    axes[1].plot(lags, s2[0, 1, 1, 40:, 40], "k-", label="S2 along axis 0")
    axes[1].plot(lags, c2[0, 1, 40:, 40], "r--", label="C2 along axis 0")
    axes[1].plot(lags, s2[0, 1, 1, 40, 40:], "k:", label="S2 along axis 1")
    axes[1].plot(lags, c2[0, 1, 40, 40:], "r-.", label="C2 along axis 1")
    axes[1].set(xlabel="r (voxels)", title="2-point cluster function vs S2, phase 1")
    axes[1].legend(fontsize=7)
    save(figure, "cluster.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    field = ellipses()
    for draw in (lineal_path_figure, radial_figure, surface_figure, chords_figure, cluster_figure):
        draw(field)


if __name__ == "__main__":
    main()
