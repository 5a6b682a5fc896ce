"""Whether the current call is being traced rather than run eagerly."""

from __future__ import annotations

import torch


def tracing() -> bool:
    """Inside ``torch.compile``'s tracing or a ``torch.func`` transform. There, tensors must not be cached across
    calls (a transform wraps them for its level; a compiled graph builds them itself) and the eager-only shortcuts
    (writes into views of a buffer, nested compilation) are not taken."""
    return torch.compiler.is_compiling() or torch._C._functorch.maybe_current_level() is not None
