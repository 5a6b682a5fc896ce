"""Optional progress bars: tqdm is imported only when a bar is asked for, so the library needs only torch and numpy."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

MISSING_TQDM = (
    "progress=True shows a tqdm progress bar, but tqdm is not installed (pip install tqdm, or "
    "pip install 'spatialstats[progress]'); continuing without a progress bar. Pass progress=False to silence this."
)


def progress_bar(iterable: Iterable[T], *, enabled: bool, desc: str) -> Iterable[T] | Iterator[T]:
    """``iterable`` wrapped in ``tqdm.auto.tqdm`` when ``enabled``; unchanged when not, or (with a warning) when
    tqdm is missing.

    Example:
        >>> list(progress_bar(range(3), enabled=False, desc="steps"))
        [0, 1, 2]
    """
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(MISSING_TQDM, RuntimeWarning, stacklevel=3)
        return iterable
    return tqdm(iterable, desc=desc)
