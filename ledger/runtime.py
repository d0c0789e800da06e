"""Process settings for the ledger's hot paths, applied by every entry point that runs them.

A batch append or a verification allocates container objects by the hundred thousand, and most of them
live until the batch or chunk is done. With CPython's default thresholds (700, 10, 10) that churn sets off
a full collection every few batches, and a full collection walks every object the process holds (the
web app's and SQLAlchemy's included): about a fifth of a 1,000-command append in the benchmark's
profile. Collecting the young generation after 50,000 net allocations instead of 700 keeps that work
proportional to the garbage; reference counting still frees acyclic garbage at once, so memory grows only
by the cyclic garbage of one interval. The web app and the command line (``web/cli.py``, ``web/server.py``),
the integrity process of a two-process verification and the benchmarks (for the ledger and its baselines
alike) apply it.
"""

from __future__ import annotations

import gc
from typing import Final

GC_THRESHOLDS: Final = (50_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
