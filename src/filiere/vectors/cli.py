"""``filiere art``, ``filiere trade``, ``filiere crypto``: the crime-vector commands."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for

art_app = typer.Typer(help="Art and antiquities: stolen-art registers and matching.", no_args_is_help=True)
trade_app = typer.Typer(help="Trade invoices: price anomalies and goods that do not fit (TBML).", no_args_is_help=True)
crypto_app = typer.Typer(help="Crypto and ransomware: tags, tracing, exposure, STIX.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="input file", exists=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(art_app, name="art")
    app.add_typer(trade_app, name="trade")
    app.add_typer(crypto_app, name="crypto")


# ---- art ---------------------------------------------------------------------------------
@art_app.command("load")
def art_load(
    file: FileArg,
    register_name: Annotated[str, typer.Option("--register", help="register name")] = "fbi_nsaf",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Load a stolen-art register (FBI NSAF CSV columns or Object ID names)."""
    from filiere.store import open_store
    from filiere.vectors.art.service import load_register

    with open_store(settings_for(workspace)) as store:
        rep = load_register(store, file, register=register_name)
    if json:
        print_json(asdict(rep))
    else:
        console.print(
            f"{rep.stored:,} objects in register [bold]{rep.register}[/] "
            f"({rep.with_dimensions:,} with dimensions, {rep.with_images:,} with images)"
        )


@art_app.command("match")
def art_match(
    file: FileArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV of candidates, best first per query")],
    top: Annotated[int, typer.Option(help="candidates per query")] = 5,
    min_score: Annotated[float, typer.Option(help="leave out candidates below")] = 0.3,
    alert_threshold: Annotated[float, typer.Option(help="score from which a PCAN alert is raised")] = 0.75,
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Match offered objects against the loaded registers; writes candidates with explanations."""
    from filiere.store import open_store
    from filiere.vectors.art.service import match_file

    with open_store(settings_for(workspace)) as store:
        results, n_alerts = match_file(
            store, file, out=out, top_n=top, min_score=min_score, alert_threshold=alert_threshold, raise_alerts=alerts
        )
    matched = sum(1 for r in results if r.candidates and r.candidates[0].score >= alert_threshold)
    if json:
        print_json({"queries": len(results), "matched": matched, "alerts": n_alerts, "out": str(out)})
    else:
        console.print(f"{len(results):,} objects: {matched:,} match a register record; {n_alerts:,} new alerts → {out}")


# ---- trade -------------------------------------------------------------------------------
@trade_app.command("ingest")
def trade_ingest(
    file: FileArg,
    parties: Annotated[
        Path | None, typer.Option("--parties", help="CSV of the traders: party_id, entity_type (role), name, country")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Load trade declarations (CSV or Parquet), and optionally the traders' business roles."""
    from filiere.store import open_store
    from filiere.vectors.trade.ingest import USD_RATES, ingest_trade, ingest_trade_parties

    settings = settings_for(workspace)
    rates = {**USD_RATES, **settings.area("vectors").get("trade", {}).get("usd_rates", {})}
    with open_store(settings) as store:
        n_parties = ingest_trade_parties(store, parties) if parties is not None else 0
        n = ingest_trade(store, file, usd_rates=rates)
    if json:
        print_json({"rows": n, "parties": n_parties})
    else:
        extra = f" ({n_parties:,} traders with their roles)" if parties is not None else ""
        console.print(f"{n:,} trade declarations stored{extra}")


@trade_app.command("scan")
def trade_scan(
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="first date to flag")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last date to flag")] = None,
    k: Annotated[float | None, typer.Option(help="fence multiplier on the IQR (default 1.5)")] = None,
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts")] = True,
    top: Annotated[int, typer.Option(help="flagged trades to print")] = 10,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Price filter per HS6 × country pair, unlikely origins, goods that do not fit the business."""
    from rich.table import Table

    from filiere.store import open_store
    from filiere.vectors.trade.price import ScanConfig, ranked_flags, scan

    settings = settings_for(workspace)
    cfg = ScanConfig.from_area(settings.area("vectors").get("trade", {}))
    if k is not None:
        cfg.k = k
    d0: date | None = since.date() if since else None
    d1: date | None = until.date() if until else None
    with open_store(settings) as store:
        rep = scan(store, cfg, since=d0, until=d1, raise_alerts=alerts)
        best = ranked_flags(store, limit=top).to_pylist()
    if json:
        print_json({**asdict(rep), "top": best})
        return
    console.print(
        f"{rep.scanned:,} declarations scanned, {rep.flagged_trades:,} flagged {rep.flags}; {rep.alerts:,} new alerts"
    )
    t = Table(title="most suspicious declarations")
    for c in ("trade", "date", "flow", "HS6", "lane", "score", "rules"):
        t.add_column(c)
    for r in best:
        t.add_row(
            r["trade_id"],
            str(r["date"]),
            r["flow"],
            r["hs6"],
            f"{r['origin']}→{r['destination']}",
            f"{r['score']:.2f}",
            ", ".join(r["rules"]),
        )
    console.print(t)


@trade_app.command("generate")
def trade_generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for trades.csv and parties.csv")],
    rows: Annotated[int, typer.Option(help="declarations")] = 50_000,
    seed: Annotated[int, typer.Option()] = 7,
    scheme_rate: Annotated[float, typer.Option(help="share of mis-invoiced declarations")] = 0.01,
) -> None:
    """Write a synthetic trade world with mis-invoicing schemes and ground truth."""
    import pyarrow.csv as pacsv

    from filiere.vectors.trade.synth import generate

    w = generate(rows, seed=seed, scheme_rate=scheme_rate)
    out.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(w.trades, out / "trades.csv")
    pacsv.write_csv(w.parties, out / "parties.csv")
    console.print(
        f"{w.trades.num_rows:,} declarations ({int(w.truth.sum()):,} mis-invoiced) → {out}/trades.csv, parties.csv"
    )


# ---- crypto ------------------------------------------------------------------------------
Methods = Annotated[str, typer.Option("--method", help="haircut (proportional) or poison")]


@crypto_app.command("tags")
def crypto_tags(
    files: Annotated[
        list[Path] | None, typer.Argument(help="tagpack YAML files (default: the shared tagpacks)")
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Load tagged addresses (GraphSense tagpacks: ransomware, terrorism, OFAC)."""
    from filiere.store import open_store
    from filiere.vectors.crypto.service import default_tagpacks, load_tags

    settings = settings_for(workspace)
    paths = list(files or default_tagpacks(settings.shared_data))
    with open_store(settings) as store:
        counts = load_tags(store, paths)
    if json:
        print_json(counts)
    else:
        for k2, v in counts.items():
            console.print(f"{v:,} tags from {k2}")


@crypto_app.command("trace")
def crypto_trace(
    addresses: Annotated[list[str] | None, typer.Argument(help="tagged source address(es)")] = None,
    tagged: Annotated[
        bool, typer.Option("--tagged", help="trace from every ransomware/terrorism/sanctions-tagged address seen")
    ] = False,
    method: Methods = "haircut",
    max_hops: Annotated[int, typer.Option(help="hops to follow")] = 32,
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Follow value from tagged addresses through peel chains to exchange cash-out points."""
    from rich.table import Table

    from filiere.errors import UserInputError
    from filiere.store import open_store
    from filiere.vectors.crypto.service import trace_addresses, trace_tagged

    if not addresses and not tagged:
        raise UserInputError("give source address(es) or --tagged")
    if tagged:
        with open_store(settings_for(workspace)) as store:
            results = trace_tagged(store, method=method, max_hops=max_hops, raise_alerts=alerts)
        if json:
            print_json({"traces": [{**r.to_dict(), "alerts": k} for r, k in results]})
            return
        if not results:
            console.print("no tagged source address appears in the crypto transfers")
        for r, k in results:
            outs = ", ".join(f"{c.account_id} ({c.tainted_value:.6g})" for c in r.cash_outs[:3]) or "none"
            console.print(f"{r.sources[0]}: {r.emitted:.8g} out, {r.reached:,} reached; cash-outs {outs}; {k} alerts")
        return
    assert addresses is not None
    with open_store(settings_for(workspace)) as store:
        res, n = trace_addresses(store, addresses, method=method, max_hops=max_hops, raise_alerts=alerts)
    if json:
        print_json({**res.to_dict(), "alerts": n})
        return
    console.print(f"{res.emitted:.8g} left {', '.join(res.sources)}; {res.reached:,} addresses reached; {n} new alerts")
    t = Table(title=f"cash-out points ({res.method})")
    for col in ("account", "service", "hop", "tainted value", "share of source", "share of inflow"):
        t.add_column(col)
    for c in res.cash_outs[:30]:
        t.add_row(
            c.account_id,
            c.label or "",
            str(c.hop),
            f"{c.tainted_value:.6g}",
            f"{c.share_of_source:.1%}",
            f"{c.share_of_inflow:.1%}",
        )
    console.print(t)


@crypto_app.command("exposure")
def crypto_exposure(
    party: Annotated[str | None, typer.Option(help="party whose crypto accounts to score")] = None,
    wallet: Annotated[list[str] | None, typer.Option(help="wallet address (repeatable)")] = None,
    max_hops: Annotated[int, typer.Option(help="hops back to tagged sources")] = 3,
    method: Methods = "haircut",
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Share of a customer's inflows that comes from tagged sources within N hops."""
    from filiere.store import open_store
    from filiere.vectors.crypto.service import exposure_for

    with open_store(settings_for(workspace)) as store:
        table, n = exposure_for(
            store, party_id=party, wallets=wallet, max_hops=max_hops, method=method, raise_alerts=alerts
        )
    rows = table.to_pylist()
    if json:
        print_json({"exposure": rows, "alerts": n})
        return
    if not rows:
        console.print("no exposure to tagged sources")
    for r in rows:
        console.print(
            f"{r['wallet']}  {r['category']:<11} exposure {r['exposure']:.3f} "
            f"(direct {r['direct_share']:.3f}, nearest hop {r['nearest_hop']})"
        )
    console.print(f"{n} new alerts")


@crypto_app.command("stix")
def crypto_stix(
    addresses: Annotated[list[str], typer.Argument(help="tagged source address(es) to trace and export")],
    out: Annotated[Path, typer.Option("--out", "-o", help="STIX 2.1 bundle (JSON); - for stdout")] = Path("-"),
    method: Methods = "haircut",
    max_hops: Annotated[int, typer.Option()] = 32,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export traced sources and cash-out points as a STIX 2.1 bundle (OpenCTI)."""
    import sys

    from filiere.store import open_store
    from filiere.vectors.crypto.service import stix_for

    with open_store(settings_for(workspace)) as store:
        text = stix_for(store, addresses, method=method, max_hops=max_hops)
    if str(out) == "-":
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"STIX bundle → {out}")


@crypto_app.command("generate")
def crypto_generate(
    edges: Annotated[int, typer.Option(help="transfers")] = 200_000,
    schemes: Annotated[int, typer.Option(help="ransomware schemes")] = 10,
    seed: Annotated[int, typer.Option()] = 11,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Add a synthetic ransomware world (transfers, crypto accounts, exchange and ransomware tags)."""
    from filiere.store import open_store
    from filiere.vectors.crypto.synth import generate
    from filiere.vectors.crypto.tagpacks import store_tags

    w = generate(edges, n_schemes=schemes, seed=seed)
    with open_store(settings_for(workspace)) as store, store.transaction():
        store.insert_arrow("transactions", w.transactions())
        store.insert_arrow("accounts", w.accounts())
        store.insert_arrow("parties", w.parties())
        store_tags(store, w.tags)
    info = {"transfers": len(w.src), "addresses": len(w.nodes), "ransom_addresses": [s.ransom for s in w.schemes]}
    if json:
        print_json(info)
    else:
        console.print(f"{info['transfers']:,} transfers among {info['addresses']:,} addresses; ransom addresses:")
        for s in w.schemes:
            console.print(f"  {s.ransom} ({s.family}, {s.paid:.4g} BTC paid, {len(s.cash_outs)} cash-out points)")
