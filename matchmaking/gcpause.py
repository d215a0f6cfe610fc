"""`paused_gc()`: no cyclic garbage collection while bulk-building acyclic objects.

Reading a national instance creates millions of small dicts, lists and records; every 700
allocations CPython's collector walks the young objects and now and then the whole heap,
which here tripled the time of `json.load` and of building the records. None of these
objects form cycles, so the pause only defers work; the collector resumes (if it was on)
when the block ends.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def paused_gc():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
