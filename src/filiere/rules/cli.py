"""``filiere rules list`` and ``filiere rules backtest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for

rules_app = typer.Typer(help="Red-flag rules: list the library, backtest it on labelled data.", no_args_is_help=True)

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="extra rule file or folder (repeatable); same id overrides the library"),
]


@rules_app.command("list")
def list_rules(workspace: WorkspaceOpt = None, rules: RulesOpt = None, json: JsonOpt = False) -> None:
    """The rules in force: library plus workspace overrides."""
    from rich.table import Table

    from filiere.rules.spec import load_rules

    settings = settings_for(workspace)
    loaded = load_rules(rules or [], overrides=settings.area("rules"))
    if json:
        print_json([r.model_dump() for r in loaded])
        return
    table = Table(title=f"{len(loaded)} rules")
    for col in ("id", "scope", "window", "severity", "indicators", "vector", "title"):
        table.add_column(col)
    for r in loaded:
        table.add_row(
            r.id + ("" if r.enabled else " (off)"),
            r.scope,
            r.window or "",
            r.severity,
            " ".join(r.indicators),
            r.vector or "",
            r.title,
        )
    console.print(table)


@rules_app.command("backtest")
def backtest_cmd(
    file: Annotated[Path, typer.Argument(help="labelled transactions file")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="input format")] = "amlworld",
    workspace: WorkspaceOpt = None,
    rules: RulesOpt = None,
    graph: Annotated[bool, typer.Option("--graph/--no-graph", help="compute pattern features for rules")] = True,
    json: JsonOpt = False,
) -> None:
    """Per rule: alerts raised, transactions flagged, precision and recall against the labels."""
    import time

    from rich.table import Table

    from filiere.rules.backtest import backtest
    from filiere.rules.spec import load_global_params, load_rules
    from filiere.scoring.evaluate import context_for_file
    from filiere.scoring.features import pattern_features

    settings = settings_for(workspace)
    t0 = time.perf_counter()
    inputs = context_for_file(file, fmt, settings.shared_data)
    if graph:
        feats, _ = pattern_features(inputs.transactions)
        inputs.features = feats
    loaded = load_rules(rules or [], overrides=settings.area("rules"))
    params = {**load_global_params(), **(settings.area("rules").get("params") or {})}
    scores, _ = backtest(loaded, inputs, global_params=params)
    tx = inputs.transactions
    positives = int(tx.column("is_laundering").to_numpy(zero_copy_only=False).sum())
    if json:
        print_json(
            {
                "file": str(file),
                "rows": tx.num_rows,
                "positives": positives,
                "seconds": time.perf_counter() - t0,
                "rules": [s.as_dict() for s in scores],
            }
        )
        return
    table = Table(title=f"backtest on {file.name}: {tx.num_rows:,} transactions, {positives:,} laundering")
    cols = ("rule", "alerts", "alerts/10k", "alert prec.", "flagged tx", "true tx", "precision", "recall", "status")
    for col in cols:
        table.add_column(col, justify="left" if col in ("rule", "status") else "right")
    for s in scores:
        table.add_row(
            s.rule_id,
            f"{s.alerts:,}",
            f"{s.alerts_per_10k:.1f}",
            "" if s.alert_precision is None else f"{s.alert_precision:.3f}",
            f"{s.tx_flagged:,}",
            f"{s.tx_true:,}",
            "" if s.precision is None else f"{s.precision:.3f}",
            "" if s.recall is None else f"{s.recall:.3f}",
            s.status,
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
