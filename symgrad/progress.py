"""Progress bars for long derivations, compiles and training runs.

A bar shows only when stderr is a terminal (tqdm's own check) and the work is long
enough to be worth watching; in tests, pipes and CI it is silent. ``SYMGRAD_PROGRESS=0``
turns bars off everywhere, ``=1`` forces them on.

>>> list(progress(range(3), total=3, desc="steps"))  # short work: no bar, same items
[0, 1, 2]
"""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

__all__ = ["progress", "MIN_ITEMS"]

T = TypeVar("T")

#: Below this many items a loop is quick enough that a bar would only flicker.
MIN_ITEMS = 2000


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", min_items: int = MIN_ITEMS) -> Iterable[T]:
    """``iterable``, wrapped in a tqdm bar when it is long and stderr is a terminal."""
    setting = os.environ.get("SYMGRAD_PROGRESS")
    if setting == "0" or (total is not None and total < min_items and setting != "1"):
        return iterable
    from tqdm.auto import tqdm

    # disable=None: tqdm shows the bar only on a terminal.
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=False if setting == "1" else None)
