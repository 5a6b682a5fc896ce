"""Run every ```python block of a markdown file in order, in one namespace, as a new user pasting them would.

Usage: python .ci/run_readme_blocks.py README.md   (exit status 1 and the failing block on the first error)
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from pathlib import Path

BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of ``text``, in order."""
    return BLOCK.findall(text)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: run_readme_blocks.py FILE.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    blocks = python_blocks(path.read_text())
    if not blocks:
        print(f"error: {path} has no ```python block", file=sys.stderr)
        return 1
    namespace: dict = {"__name__": "__readme__"}
    for number, block in enumerate(blocks, 1):
        started = time.perf_counter()
        try:
            exec(compile(block, f"{path}:block{number}", "exec"), namespace)
        except Exception:
            print(f"error: python block {number} of {path} failed:\n{block}", file=sys.stderr)
            traceback.print_exc()
            return 1
        print(f"{path} block {number}/{len(blocks)} ok ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
