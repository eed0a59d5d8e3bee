"""``filiere evaluate``, ``filiere train`` and ``filiere detect``."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for

GraphOpt = Annotated[bool, typer.Option("--graph/--no-graph", help="use the pattern engine's features")]


def evaluate(
    file: Annotated[Path, typer.Argument(help="labelled transactions (AMLworld CSV…)")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="input format")] = "amlworld",
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="where the report and PR curve go (default: beside FILE)")
    ] = None,
    graph: GraphOpt = True,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="also run the raw-columns LightGBM")
    ] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Temporal 60/20/20 evaluation: train, pick the threshold on validation, report on the last 20%."""
    from filiere.scoring.detect import train_config
    from filiere.scoring.evaluate import evaluate_file

    settings = settings_for(workspace)
    report = evaluate_file(
        file,
        fmt,
        out_dir=out_dir,
        shared_data=settings.shared_data,
        graph=graph,
        baseline=baseline,
        config=train_config(settings),
    )
    out = Path(report["pr_curve"]).with_name(file.stem + ".evaluation.json")
    out.write_text(jsonlib.dumps(report, indent=2, default=str), encoding="utf-8")
    report["report"] = str(out)
    if json:
        print_json(report)
        return
    from rich.table import Table

    t = Table(title=f"evaluation of {file.name} (test = last 20% by time, {report['rows_test']:,} rows)")
    t.add_column("metric")
    t.add_column("filiere", justify="right")
    t.add_column("raw LightGBM", justify="right")
    base = report.get("baseline_f1")
    t.add_row("F1 (laundering)", f"{report['f1']:.3f}", "" if base is None else f"{base:.3f}")
    t.add_row("precision", f"{report['precision']:.3f}", "")
    t.add_row("recall", f"{report['recall']:.3f}", "")
    bpr = report.get("baseline_pr_auc")
    t.add_row("PR-AUC", f"{report['pr_auc']:.3f}", "" if bpr is None else f"{bpr:.3f}")
    t.add_row("alerts per 10k tx", f"{report['alerts_per_10k']:.1f}", "")
    for k in ("recall_typed", "recall_untyped", "account_f1"):
        v = report.get(k)
        t.add_row(k.replace("_", " "), "n/a" if v is None else f"{v:.3f}", "")
    t.add_row("threshold", f"{report['threshold']:.4f}", "")
    t.add_row("seconds", f"{report['seconds']:.1f}", "")
    console.print(t)
    console.print(f"PR curve: {report['pr_curve']}\nreport: {out}")


def train(workspace: WorkspaceOpt = None, graph: GraphOpt = True, json: JsonOpt = False) -> None:
    """Train on the workspace's labelled transactions and make the model current."""
    from filiere.scoring.detect import train_on_store

    settings = settings_for(workspace)
    model = train_on_store(settings, graph=graph)
    val = model.meta["metrics"]["validation"]
    out = {
        "version": model.version,
        "path": str(model.path),
        "features": len(model.feature_names),
        "threshold": model.threshold,
        "validation": val,
    }
    if json:
        print_json(out)
    else:
        console.print(
            f"model [bold]{model.version}[/] ({len(model.feature_names)} features) saved to {model.path}\n"
            f"validation (last 20% by time): F1 {val['f1']:.3f}, precision {val['precision']:.3f}, "
            f"recall {val['recall']:.3f}, PR-AUC {val['pr_auc']:.3f}, threshold {model.threshold:.4f}"
        )


def detect(
    workspace: WorkspaceOpt = None,
    rule_alerts: Annotated[bool, typer.Option("--rule-alerts/--no-rule-alerts", help="also alert on rule hits")] = True,
    json: JsonOpt = False,
) -> None:
    """Score the workspace's transactions with the current model and write explained alerts."""
    from filiere.scoring.detect import detect as run_detect

    report = run_detect(settings_for(workspace), rule_alerts=rule_alerts)
    if json:
        print_json(report.as_dict())
    else:
        console.print(
            f"model {report.model_version}: {report.transactions:,} transactions, {report.flagged:,} flagged; "
            f"{report.model_alerts:,} model alerts and {report.rule_alerts:,} rule alerts, "
            f"{report.inserted:,} new ({report.seconds:.1f} s)"
        )


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("train")(train)
    app.command("detect")(detect)
