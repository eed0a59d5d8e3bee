"""``filiere scenario``: generate synthetic worlds and grade answers against their truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, console, print_json

scenario_app = typer.Typer(
    help="Synthetic worlds with hidden terrorist-financing schemes, and grading.", no_args_is_help=True
)


@scenario_app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write the world into")],
    template: Annotated[str, typer.Option("--template", "-t", help="amlworld-hi, amlworld-li or sahel")] = "sahel",
    rows: Annotated[int, typer.Option("--rows", "-n", help="number of transactions")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="random seed (same seed, same bytes)")] = 0,
    vectors: Annotated[
        bool | None,
        typer.Option(
            "--vectors/--no-vectors",
            help="also write art_offers.csv, trade.csv, trade_parties.csv, crypto_tags.yaml (default: sahel only)",
            show_default=False,
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Write transactions.csv, accounts.csv, patterns.txt, parties.ftm.jsonl and truth.json (and the
    crime-vector files for sahel or with --vectors)."""
    from filiere.scenario.generator import generate

    res = generate(template, rows, seed, out, progress=not json, vectors=vectors)
    if json:
        print_json(res.as_dict())
        return
    console.print(
        f"[bold]{res.template}[/] world, seed {res.seed}: {res.rows:,} rows ({res.illicit_rows:,} illicit: "
        f"{res.typed_rows:,} in {res.schemes} schemes' patterns, {res.untyped_rows:,} untyped), "
        f"{res.accounts:,} accounts, {res.entities:,} parties -> {res.out} in {res.seconds:.1f} s"
    )


@scenario_app.command("grade")
def grade_cmd(
    truth: Annotated[Path, typer.Option("--truth", help="world folder (or its truth.json)")],
    answers: Annotated[
        Path, typer.Option("--answers", help="CSV with a tx_row and/or account column (optional vector)")
    ],
    json: JsonOpt = False,
) -> None:
    """Score flagged transactions/accounts: precision, recall, F1 overall, per scheme and vector; missed schemes."""
    from rich.table import Table

    from filiere.scenario.grading import grade

    res = grade(truth, answers)
    if json:
        print_json(res)
        return
    t = Table(title="overall")
    for c in ("level", "flagged", "truth", "TP", "precision", "recall", "F1"):
        t.add_column(c, justify="right" if c != "level" else "left")
    for level in ("transactions", "accounts"):
        m = res.get(level)
        if m:
            t.add_row(
                level,
                f"{m['flagged']:,}",
                f"{m['truth']:,}",
                f"{m['true_positives']:,}",
                f"{m['precision']:.3f}",
                f"{m['recall']:.3f}",
                f"{m['f1']:.3f}",
            )
    console.print(t)
    v = Table(title="per vector")
    for c in ("vector", "schemes", "detected", "row recall", "account recall", "row precision"):
        v.add_column(c)
    for name, m in res["vectors"].items():
        v.add_row(
            name,
            str(m["schemes"]),
            str(m["detected"]),
            _fmt(m["row_recall"]),
            _fmt(m["account_recall"]),
            _fmt(m["row_precision"]),
        )
    console.print(v)
    console.print(f"schemes detected: {res['schemes_detected']}/{res['schemes_total']}")
    if res["missed"]:
        console.print("missed: " + ", ".join(f"{m['id']} ({m['pattern']})" for m in res["missed"]))


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def register(app: typer.Typer) -> None:
    app.add_typer(scenario_app, name="scenario")
