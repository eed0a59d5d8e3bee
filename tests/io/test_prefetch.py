"""The reader thread that parses piece k+1 while piece k is inserted."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from filiere.io.ingest import _prefetched
from filiere.io.result import Batch


def _batch(i: int) -> Batch:
    return Batch(pa.table({"i": [i]}), pa.table({}), read=1, done=i)


def test_prefetch_keeps_order_and_ends() -> None:
    got = [b.done for b in _prefetched(iter([_batch(i) for i in range(10)]))]
    assert got == list(range(10))


def test_prefetch_raises_the_readers_error() -> None:
    def gen() -> Iterator[Batch]:
        yield _batch(0)
        raise ValueError("row 7: broken")

    it = _prefetched(gen())
    assert next(it).done == 0
    with pytest.raises(ValueError, match="row 7"):
        next(it)


def test_prefetch_stops_the_reader_when_the_consumer_stops() -> None:
    closed = threading.Event()

    def gen() -> Iterator[Batch]:
        try:
            for i in range(1_000_000):
                yield _batch(i)
        finally:
            closed.set()

    it = _prefetched(gen())
    assert next(it).done == 0
    it.close()  # e.g. the insert of piece 0 failed
    assert closed.is_set()
    assert not any(t.name == "filiere-ingest-reader" for t in threading.enumerate())
