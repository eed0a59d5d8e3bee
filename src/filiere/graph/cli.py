"""``filiere features``: causal pattern features of a transactions file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, console, err_console, print_json


def register(app: typer.Typer) -> None:
    app.command(name="features")(features)


def features(
    file: Annotated[Path, typer.Argument(help="transactions file", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="input format (amlworld, csv, parquet, ...)")] = "amlworld",
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML windows and thresholds")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="column mapping (csv, parquet)")] = None,
    json: JsonOpt = False,
) -> None:
    """Compute causal graph-pattern features of every transaction (tx_id + one column per feature)."""
    import time

    import pyarrow.parquet as pq
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from filiere.graph.config import FeatureConfig
    from filiere.graph.engine import compute_features
    from filiere.io import read_transactions

    cfg = FeatureConfig.from_yaml(config) if config else FeatureConfig()
    t0 = time.perf_counter()
    result = read_transactions(file, fmt, mapping=mapping)
    table = result.transactions
    t_read = time.perf_counter() - t0
    quarantined = result.quarantine.num_rows
    if quarantined and not json:
        err_console.print(f"[yellow]{quarantined:,} rows quarantined by the reader (not featurised)[/]")
    t1 = time.perf_counter()
    with Progress(
        TextColumn("features"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=json,
    ) as bar:
        task = bar.add_task("features", total=max(1, table.num_rows))
        feats = compute_features(table, cfg, progress=lambda done, total: bar.update(task, completed=done))
    t_feat = time.perf_counter() - t1
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(feats, out)
    summary = {
        "rows": table.num_rows,
        "quarantined": quarantined,
        "features": feats.num_columns - 1,
        "out": str(out),
        "read_s": round(t_read, 3),
        "features_s": round(t_feat, 3),
        "edges_per_s": round(table.num_rows / t_feat) if t_feat > 0 else None,
    }
    if json:
        print_json(summary)
    else:
        console.print(
            f"{summary['rows']:,} transactions -> {summary['features']} features in {t_feat:.2f}s "
            f"({summary['edges_per_s'] or 0:,} tx/s), written to [bold]{out}[/]"
        )
