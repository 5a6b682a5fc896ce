"""Connected components of integer label maps in torch: face neighbours of equal label, per-axis periodic.

One union-find for the exact descriptors (:func:`spatialstats.descriptors.connected_components`,
:func:`spatialstats.descriptors.cluster_function`) and the morphology report
(:func:`spatialstats.reconstruction.morphology`). It runs on the labels' device, with no Python loop over voxels.
"""

from __future__ import annotations

import torch


def face_pairs(values: torch.Tensor, periodic: tuple[bool, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(value at x, value at x + e_d)`` over the faces of ``(batch, *spatial)`` values, one pair per spatial axis.

    A periodic axis wraps (its faces include the one between the last and the first slice; an axis of length 1
    has no face); a non-periodic axis has the ``n - 1`` inner faces only.
    """
    pairs = []
    for dim, wraps in enumerate(periodic, start=1):
        n = values.shape[dim]
        if wraps:
            if n > 1:
                pairs.append((values, values.roll(-1, dims=dim)))
        elif n > 1:
            pairs.append((values.narrow(dim, 0, n - 1), values.narrow(dim, 1, n - 1)))
    return pairs


def component_roots(labels: torch.Tensor, periodic: tuple[bool, ...]) -> torch.Tensor:
    """``(batch, *spatial)`` int64: for every voxel, the smallest flat index (within its sample) of its component.

    A component is a set of voxels of equal label joined by faces (4-connectivity in 2D, 6 in 3D), across the
    border along the periodic axes. Union-find by vectorised hooking: each face whose two ends have different
    roots hooks both roots onto the smaller one (``scatter_reduce`` with ``amin``), then pointer jumping
    compresses every path; repeated until every face joins voxels with one root. A root is never larger than the
    voxels below it, so the final root of a component is its smallest index. This is faster than minimum-label
    propagation over the grid, which needs as many sweeps as the longest geodesic path in a cluster: measured 8x
    to 52x on 16 x 256^2 and 1.6x to 6x on 4 x 64^3 binary fields on one CPU thread (``benchmarks/components.py``).
    """
    batch, size = labels.shape[0], labels[0].numel()
    index = torch.arange(labels.numel(), device=labels.device).reshape(labels.shape)
    first, second = [index.new_zeros(0)], [index.new_zeros(0)]
    for (start, end), (start_label, end_label) in zip(face_pairs(index, periodic), face_pairs(labels, periodic)):
        same = start_label == end_label
        first.append(start[same])
        second.append(end[same])
    parent = _union_find(index.reshape(-1).clone(), torch.cat(first), torch.cat(second))
    offsets = torch.arange(batch, device=labels.device).unsqueeze(1) * size
    return (parent.reshape(batch, size) - offsets).reshape(labels.shape)


def _union_find(parent: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Roots after joining ``first[k]`` and ``second[k]`` for every edge ``k``; ``parent`` starts as the identity."""
    while True:
        root_first, root_second = parent[first], parent[second]
        differ = root_first != root_second
        if not bool(differ.any()):
            return parent
        root_first, root_second = root_first[differ], root_second[differ]
        smaller = torch.minimum(root_first, root_second)
        parent.scatter_reduce_(0, torch.cat([root_first, root_second]), torch.cat([smaller, smaller]), reduce="amin")
        while True:
            jumped = parent[parent]
            if torch.equal(jumped, parent):
                break
            parent = jumped
