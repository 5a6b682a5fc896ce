"""Run every ```python block of a markdown file in order, in one namespace, as a new user pasting them would.

Usage: python .ci/run_readme_blocks.py README.md [--extras]   (exit status 1 and the failing block on the first
error). A block whose info string names optional extras (```python extras=sklearn) needs packages the bare install
does not have: it is skipped by default and run (alone, in its own namespace) with ``--extras``.
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from pathlib import Path

BLOCK = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXTRAS = re.compile(r"extras=(\S+)")


def tagged_blocks(text: str) -> list[tuple[str | None, str]]:
    """``(extras or None, body)`` of the ```python fenced blocks of ``text``, in order."""
    blocks = []
    for info, body in BLOCK.findall(text):
        match = EXTRAS.search(info)
        blocks.append((match.group(1) if match else None, body))
    return blocks


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of ``text``, in order."""
    return [body for _, body in tagged_blocks(text)]


def main(argv: list[str]) -> int:
    with_extras = "--extras" in argv
    files = [arg for arg in argv if arg != "--extras"]
    if len(files) != 1:
        print("usage: run_readme_blocks.py FILE.md [--extras]", file=sys.stderr)
        return 2
    path = Path(files[0])
    blocks = tagged_blocks(path.read_text())
    if not blocks:
        print(f"error: {path} has no ```python block", file=sys.stderr)
        return 1
    namespace: dict = {"__name__": "__readme__"}
    for number, (extras, block) in enumerate(blocks, 1):
        if (extras is not None) != with_extras:
            continue
        started = time.perf_counter()
        scope = {"__name__": "__readme__"} if extras else namespace
        try:
            exec(compile(block, f"{path}:block{number}", "exec"), scope)
        except Exception:
            print(f"error: python block {number} of {path} failed:\n{block}", file=sys.stderr)
            traceback.print_exc()
            return 1
        label = f" (extras {extras})" if extras else ""
        print(f"{path} block {number}/{len(blocks)}{label} ok ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
