"""Growable columnar tables and id interning: the shape all engine state takes.

Ids (line, vehicle, supplier, group, part number, rack …) are interned once, at the
boundary, to dense int32 codes; every table is a set of equally long numpy columns
that kernels take as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt


class Interner:
    """Bidirectional map between strings and dense int32 codes (0, 1, 2 …)."""

    __slots__ = ("_codes", "_names")

    def __init__(self, names: list[str] | None = None) -> None:
        self._names: list[str] = list(names or [])
        self._codes: dict[str, int] = {n: i for i, n in enumerate(self._names)}

    def intern(self, name: str) -> int:
        """The code of ``name``, assigning the next one if it is new."""
        code = self._codes.get(name)
        if code is None:
            code = len(self._names)
            self._codes[name] = code
            self._names.append(name)
        return code

    def add_new(self, names: Sequence[str]) -> None:
        """Intern ``names``, all distinct and never interned before, in order (codes
        len(self), len(self) + 1 …): what ``intern`` does for each, at a fraction of its cost."""
        start = len(self._names)
        self._names.extend(names)
        self._codes.update(zip(names, range(start, len(self._names)), strict=True))
        if len(self._codes) != len(self._names):
            raise ValueError("add_new: a name was already interned or appears twice")

    def get(self, name: str) -> int:
        """The code of ``name``, or -1 if it was never interned."""
        return self._codes.get(name, -1)

    def codes(self, names: Sequence[str]) -> npt.NDArray[np.int64]:
        """int64[len(names)]: the code of each name, -1 for one never interned."""
        n = len(names)
        return np.fromiter(map(self._codes.get, names, repeat(-1, n)), np.int64, count=n)

    def name(self, code: int) -> str:
        return self._names[code]

    def names(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getstate__(self) -> list[str]:
        """Pickled as the names alone (half the bytes); the codes are rebuilt on load, in
        about the time unpickling them took."""
        return self._names

    def __setstate__(self, names: list[str]) -> None:
        self._names = list(names)
        self._codes = dict(zip(self._names, range(len(self._names)), strict=True))


def with_room(col: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    """``col`` at the start of an array of ``capacity`` elements, zero after ``len(col)``.

    No copy when ``col`` already lies at the start of zeroed memory that large: the
    snapshot loader (jis.engine.engine) allocates each array that was pickled as the
    first rows of a larger one (a Table column or RowList trimmed to its length) with
    the larger one's size, as a zeroed uint8 array that only this column views.
    """
    base = col.base
    nbytes = capacity * col.itemsize
    if (
        isinstance(base, np.ndarray)
        and base.dtype == np.uint8
        and base.ndim == 1
        and base.flags.c_contiguous
        and base.base is None
        and col.ndim == 1
        and col.flags.c_contiguous
        and base.nbytes >= nbytes
        and base.ctypes.data == col.ctypes.data
    ):
        return base[:nbytes].view(col.dtype)
    grown = np.zeros(capacity, col.dtype)
    grown[: len(col)] = col
    return grown


class Table:
    """Columns of one dtype each, grown by doubling; rows are appended, never removed.

    ``col(name)`` returns a view of the first ``len(table)`` rows; a view is valid until
    the next append that grows the table, so callers take views after appending.
    """

    def __init__(self, dtypes: Mapping[str, npt.DTypeLike], capacity: int = 1024) -> None:
        self._dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self._n = 0
        self._cap = max(16, capacity)
        self._data = {k: np.zeros(self._cap, dtype=dt) for k, dt in self._dtypes.items()}

    def __len__(self) -> int:
        return self._n

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need <= self._cap:
            return
        cap = self._cap
        while cap < need:
            cap *= 2
        for k, arr in self._data.items():
            grown = np.zeros(cap, dtype=arr.dtype)
            grown[: self._n] = arr[: self._n]
            self._data[k] = grown
        self._cap = cap

    def append(self, **values: int) -> int:
        """Append one row; columns not named are zero. Returns the row index."""
        self._reserve(1)
        row = self._n
        for k, v in values.items():
            self._data[k][row] = v
        self._n += 1
        return row

    def extend(self, columns: Mapping[str, npt.ArrayLike]) -> tuple[int, int]:
        """Append rows column-wise; returns the [start, stop) row range."""
        lengths = {len(np.asarray(v)) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError("columns of different lengths")
        n = lengths.pop()
        self._reserve(n)
        start = self._n
        for k, v in columns.items():
            self._data[k][start : start + n] = v
        self._n += n
        return start, self._n

    def col(self, name: str) -> npt.NDArray[Any]:
        """Column ``name``, first ``len(self)`` rows (a view)."""
        return self._data[name][: self._n]

    def item(self, name: str, row: int) -> Any:
        """The value of column ``name`` at ``row`` (< len(self)) as a Python scalar: for
        one cell, cheaper than indexing a :meth:`col` view."""
        return self._data[name].item(row)

    def put(self, row: int, name: str, value: int) -> None:
        """Set column ``name`` at ``row`` (< len(self))."""
        self._data[name][row] = value

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Copies of all columns (for snapshots)."""
        return {k: v[: self._n].copy() for k, v in self._data.items()}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled trimmed to its rows; restored with the same capacity (zero after the rows)."""
        columns = {k: v[: self._n] for k, v in self._data.items()}
        return {"dtypes": self._dtypes, "n": self._n, "cap": self._cap, "columns": columns}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._dtypes = state["dtypes"]
        self._n = state["n"]
        self._cap = state["cap"]
        self._data = {k: with_room(v, self._cap) for k, v in state["columns"].items()}

    def subset(
        self, keep: npt.NDArray[np.bool_], remap: Mapping[str, npt.NDArray[Any]] | None = None
    ) -> Table:
        """A new table of the rows where ``keep`` is True, in their order, in new memory
        (views of this one stay as they are); ``remap``: column -> array its values index
        (old code -> new code)."""
        cols = {name: v[: self._n][keep] for name, v in self._data.items()}
        for name, m in (remap or {}).items():
            cols[name] = m[cols[name]]
        return Table.from_arrays(self._dtypes, cols)

    def take(
        self, where: npt.NDArray[np.bool_], names: Iterable[str]
    ) -> tuple[dict[str, npt.NDArray[Any]], Table]:
        """Take the rows where ``where`` is True out: their columns ``names`` (copies), and
        the table of the others (this one itself when nothing is taken)."""
        taken = {k: self.col(k)[where].copy() for k in names}
        return taken, (self.subset(~where) if where.any() else self)

    def without_front(self, k: int) -> Table:
        """A new table of rows [k, len) (in new memory, with room to grow: views of this
        one stay as they are)."""
        rest = {name: v[k : self._n] for name, v in self._data.items()}
        return Table.from_arrays(self._dtypes, rest)

    @classmethod
    def from_arrays(
        cls, dtypes: Mapping[str, npt.DTypeLike], arrays: Mapping[str, npt.NDArray[np.generic]]
    ) -> Table:
        n = len(next(iter(arrays.values()))) if arrays else 0
        table = cls(dtypes, capacity=max(1024, 2 * n))
        if n:
            table.extend({k: arrays[k] for k in dtypes})
        return table


class RowList:
    """A growable int64 array of row numbers (a scope's candidate demand or slot rows)."""

    __slots__ = ("_data", "_n")

    def __init__(self, capacity: int = 64) -> None:
        self._data = np.empty(capacity, np.int64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _reserve(self, need: int) -> None:
        if need > len(self._data):
            cap = max(len(self._data), 16)
            while cap < need:
                cap *= 2
            self._data = np.concatenate([self._data[: self._n], np.empty(cap - self._n, np.int64)])

    def append(self, row: int) -> None:
        self._reserve(self._n + 1)
        self._data[self._n] = row
        self._n += 1

    def extend(self, rows: npt.NDArray[np.int64]) -> None:
        need = self._n + len(rows)
        self._reserve(need)
        self._data[self._n : need] = rows
        self._n = need

    def view(self) -> npt.NDArray[np.int64]:
        return self._data[: self._n]

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Drop the rows where ``mask`` (bool[len(self)]) is False, keeping the order."""
        kept = self._data[: self._n][mask]
        self._n = len(kept)
        self._data[: self._n] = kept

    def to_array(self) -> npt.NDArray[np.int64]:
        return self._data[: self._n].copy()

    def __getstate__(self) -> tuple[npt.NDArray[np.int64], int]:
        """Pickled trimmed to its rows; restored with the same capacity."""
        return self._data[: self._n], len(self._data)

    def __setstate__(self, state: tuple[npt.NDArray[np.int64], int]) -> None:
        rows, capacity = state
        self._data = with_room(rows, capacity)
        self._n = len(rows)


def sum_by_key(
    key: npt.NDArray[np.int64], size: int, weights: Sequence[npt.NDArray[np.int64]], dense: bool
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.int64]]]:
    """The keys present in ``key`` (each in [0, size)), ascending, and per weight column its
    sum per key. ``dense``: count in an array of all ``size`` keys (no sort; for a key space
    not much larger than the rows); else sort the keys present."""
    if dense:
        sums = [np.bincount(key, w, size).astype(np.int64) for w in weights]
        present = np.flatnonzero(np.bincount(key, minlength=size))
        return present, [s[present] for s in sums]
    present, which = np.unique(key, return_inverse=True)
    return present, [np.bincount(which, w, len(present)).astype(np.int64) for w in weights]
