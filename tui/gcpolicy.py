"""The garbage collector's settings for a long-running TUI holding large data sets.

CPython's cyclic collector scans every tracked object of a generation in one go while holding the GIL. With
the client libraries loaded (the kubernetes models alone are thousands of classes) and a large cluster on
screen (10,000 ACL users, 5,000 buckets), a full collection took up to 550 ms and ran about every 2 s while
panes refreshed (measured with `gc.callbacks` in the TUI benchmark): the event loop stalled for as long, and
whichever thread triggered it paid for it.

Two changes, both standard for long-running CPython services:
- `freeze()` after each pane's first load (client libraries imported, connections made): what exists then
  is mostly what lives as long as the app, so it moves to the permanent generation and is not scanned again;
- larger young-generation thresholds: refreshes allocate many short-lived, mostly acyclic objects (parsed
  answers, table cells) that reference counting frees; collecting after every 700 allocations only promotes
  the live ones sooner and makes full collections (whose cost grows with the heap) come more often.
Cycles are still collected; memory freed by reference counting is unaffected.

And one for the C allocator: glibc gives each new thread its own malloc arena (up to 8 per core), and every
pane fetch runs in fresh worker threads; the C-level buffers of the client libraries (HTTP bodies, XML and
libpq buffers) then leave free-but-kept memory in many arenas. `limit_malloc_arenas()` caps them at 2
(what MALLOC_ARENA_MAX=2 does): 6 Overview refreshes at scale grew the RSS by 48 MB with the default, 16 MB
with the cap.
"""

from __future__ import annotations

import gc
import sys

THRESHOLDS = (10_000, 5, 50)
"""gen0 allocations, gen0 collections per gen1, gen1 collections per gen2 (CPython's default: 700, 10, 10)."""

_frozen: set[str] = set()
"""Panes whose first load froze the heap."""


MALLOC_ARENAS = 2
"""glibc malloc arenas allowed (see the module doc)."""
_M_ARENA_MAX = -8
"""mallopt's parameter number for the arena cap (glibc malloc.h)."""


def tune() -> None:
    """Apply THRESHOLDS (at app start). The arena cap follows at the first paint (`limit_malloc_arenas`,
    ctypes costs a few ms), before the pane workers start loading."""
    gc.set_threshold(*THRESHOLDS)


def limit_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas at MALLOC_ARENAS (Linux/glibc only; True when applied). An explicit
    MALLOC_ARENA_MAX in the environment wins."""
    import os

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def freeze_once(pane: str) -> None:
    """After a pane's first load (its client library and modules are loaded now): move every object alive
    to the permanent generation. Once per pane; data frozen with them is still freed by reference counting
    when a refresh replaces it."""
    if pane not in _frozen:
        _frozen.add(pane)
        gc.freeze()
