"""Speed paths of the evaluation give what the plain ones give: the time sort, pattern types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from world import write_world

from filiere.io import read_transactions
from filiere.scoring.evaluate import (
    pattern_types_for,
    pattern_types_for_positives,
    read_pattern_rows,
    sort_by_time,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("world"))


def _arrow_sort(tx: pa.Table) -> pa.Table:
    return tx.sort_by([("ts", "ascending"), ("source_row", "ascending"), ("tx_id", "ascending")])


def test_time_sort_equals_arrow_sort(world: Path) -> None:
    tx = read_transactions(world, "amlworld").transactions
    assert not pc.all(pc.greater_equal(tx.column("ts")[1:], tx.column("ts")[:-1])).as_py()  # file not in time order
    assert sort_by_time(tx).equals(_arrow_sort(tx))
    ordered = _arrow_sort(tx)
    assert sort_by_time(ordered).equals(ordered)  # already sorted: kept as is
    shuffled = tx.take(pa.array(np.random.default_rng(1).permutation(tx.num_rows)))
    assert sort_by_time(shuffled).equals(_arrow_sort(tx))
    dup = pa.concat_tables([tx.slice(0, 50), tx.slice(0, 50)])  # repeated source rows: the Arrow sort
    assert sort_by_time(dup).equals(_arrow_sort(dup))


def test_pattern_types_on_positives_equal_the_full_join(world: Path) -> None:
    tx = sort_by_time(read_transactions(world, "amlworld").transactions)
    header = world.open(encoding="utf-8").readline().strip()
    patterns = read_pattern_rows(world.parent / "patterns.txt", header)
    full = pattern_types_for(tx, patterns)
    fast = pattern_types_for_positives(tx, patterns)
    pos = pc.fill_null(tx.column("is_laundering"), False).to_numpy(zero_copy_only=False)
    assert (
        np.asarray(full.to_pylist(), dtype=object)[pos].tolist()
        == np.asarray(fast.to_pylist(), dtype=object)[pos].tolist()
    )
    assert fast.is_valid().to_numpy(zero_copy_only=False).sum() > 0
    assert not fast.is_valid().to_numpy(zero_copy_only=False)[~pos].any()
