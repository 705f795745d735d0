"""Compile every kernel on a tiny input, so that no request pays the JIT."""

from __future__ import annotations

import numpy as np

from jis.kernels.sequence import sequence_window


def compile_all() -> None:
    """Run each public kernel wrapper once (loads from the on-disk cache when warm)."""
    sequence_window(np.zeros(2, np.int32), np.ones(2, np.int8), np.arange(2, dtype=np.int64), 0, 0, 1, 2)
