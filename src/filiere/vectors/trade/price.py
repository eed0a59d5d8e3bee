"""Trade-based money laundering screens, in SQL over ``trade_transactions`` (DuckDB, columnar).

Price filter (Zdanowicz; Pak): for each declaration, the log unit prices of the same HS6 code and
unit, flow and country pair over the 12 months up to its date give a median and an inter-quartile
range; an import priced above ``Q3 + k·IQR`` moves money out through over-invoicing, an export
priced below ``Q1 - k·IQR`` moves it out through under-invoicing. Where the pair has fewer than
``min_pair_obs`` observations, the HS6 × world distribution is used instead; a lane whose prices
are all abnormal (a scheme owning the lane) is caught by the world distribution at a wider fence.
The robust z-score is ``(log p - median) / (IQR / 1.349)``.

Also: pharmaceuticals (HS 3004) and gold (HS 7108) from origins outside the configured lists of
producers, and importers whose goods do not fit their business (``parties.entity_type``; SPLGI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from filiere.cases.alerts import AlertRecord, insert_alerts
from filiere.store.base import Store

#: large exporters of medicaments (HS 3004); others are "unlikely origins" for West African imports
PHARMA_ORIGINS = (
    "IN", "CN", "DE", "CH", "FR", "US", "IE", "BE", "IT", "GB", "NL", "ES", "DK", "SE", "AT", "JP", "KR", "IL",
    "SG", "HU", "PL", "MA", "EG", "ZA", "TR", "CA", "PK", "BD",
)  # fmt: skip
#: gold-producing countries (HS 7108 exports from elsewhere are transit or laundering)
GOLD_PRODUCERS = (
    "CN", "AU", "RU", "US", "CA", "ID", "PE", "KZ", "MX", "UZ", "GH", "ZA", "BR", "ML", "BF", "SD", "TZ", "PG",
    "CO", "AR", "GN", "CI", "NE", "SN", "ZW", "PH", "CL", "MN", "KG", "UG",
)  # fmt: skip
#: business role -> HS chapters that fit it (an importer of another role is not checked)
BUSINESS_CHAPTERS: dict[str, tuple[str, ...]] = {
    "pharmacy": ("30", "33", "34", "90", "96", "40"),
    "pharma_wholesaler": ("30", "29", "33", "34", "38", "90", "40"),
    "jeweller": ("71", "91"),
    "gold_dealer": ("71",),
    "car_dealer": ("87", "40", "84", "85"),
    "electronics_retailer": ("84", "85", "90", "95"),
    "food_trader": ("02", "03", "04", "07", "08", "09", "10", "11", "15", "16", "17", "18", "19", "20", "21", "22"),
    "textile_trader": ("50", "51", "52", "53", "54", "55", "56", "58", "60", "61", "62", "63", "64"),
    "fuel_distributor": ("27",),
    "art_dealer": ("97", "49", "71"),
    "agro_supplier": ("31", "38", "84", "10", "12"),
    "construction": ("25", "68", "69", "72", "73", "76", "84"),
    # a general trader may import anything but goods that need a licence (medicaments, gold, arms)
    "general_trading": tuple(f"{c:02d}" for c in range(1, 98) if c not in (30, 71, 93)),
}
RULE_CODES: dict[str, list[str]] = {
    "price_high_import": [],
    "price_low_export": [],
    "unlikely_origin": [],
    "goods_business": ["SPLGI"],
}


@dataclass(slots=True)
class ScanConfig:
    k: float = 1.5  # fence multiplier on the pair distribution
    k_world: float = 3.0  # fence multiplier on the world distribution (lanes owned by a scheme)
    min_pair_obs: int = 10
    min_world_obs: int = 5
    window_days: int = 365
    iqr_floor: float = 0.05  # log units: no fence narrower than that
    pharma_origins: tuple[str, ...] = PHARMA_ORIGINS
    gold_producers: tuple[str, ...] = GOLD_PRODUCERS
    business_chapters: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(BUSINESS_CHAPTERS))

    @classmethod
    def from_area(cls, section: dict[str, Any]) -> ScanConfig:
        cfg = cls()
        for key in ("k", "k_world", "min_pair_obs", "min_world_obs", "window_days", "iqr_floor"):
            if key in section:
                setattr(cfg, key, type(getattr(cfg, key))(section[key]))
        for key in ("pharma_origins", "gold_producers"):
            if key in section:
                setattr(cfg, key, tuple(str(x).upper() for x in section[key]))
        if "business_chapters" in section:
            cfg.business_chapters = {str(k): tuple(str(c) for c in v) for k, v in section["business_chapters"].items()}
        return cfg


@dataclass(slots=True)
class ScanReport:
    scanned: int
    flags: dict[str, int]
    flagged_trades: int
    alerts: int


def _price_sql(cfg: ScanConfig, since: date | None, until: date | None) -> tuple[str, list[Any]]:
    frame = f"ORDER BY date RANGE BETWEEN INTERVAL {int(cfg.window_days)} DAYS PRECEDING AND CURRENT ROW"
    params: list[Any] = []
    cond = []
    if since is not None:
        cond.append("date >= ?")
        params.append(since)
    if until is not None:
        cond.append("date <= ?")
        params.append(until)
    where = ("AND " + " AND ".join(cond)) if cond else ""
    sql = f"""
    WITH t AS (
        SELECT trade_id, date, flow, hs6, unit, origin, destination, quantity, value_usd,
               ln(value_usd / quantity) AS lp
        FROM trade_transactions WHERE quantity > 0 AND value_usd > 0
    ), w AS (
        SELECT *,
            quantile_cont(lp, 0.25) OVER pair AS p_q1, quantile_cont(lp, 0.5) OVER pair AS p_med,
            quantile_cont(lp, 0.75) OVER pair AS p_q3, count(*) OVER pair AS p_n,
            quantile_cont(lp, 0.25) OVER world AS w_q1, quantile_cont(lp, 0.5) OVER world AS w_med,
            quantile_cont(lp, 0.75) OVER world AS w_q3, count(*) OVER world AS w_n
        FROM t
        WINDOW pair AS (PARTITION BY hs6, unit, flow, origin, destination {frame}),
               world AS (PARTITION BY hs6, unit, flow {frame})
    ), s AS (
        SELECT *,
            greatest(p_q3 - p_q1, {cfg.iqr_floor}) AS p_iqr, greatest(w_q3 - w_q1, {cfg.iqr_floor}) AS w_iqr,
            p_n >= {int(cfg.min_pair_obs)} AS pair_ok
        FROM w WHERE w_n >= {int(cfg.min_world_obs)}
    ), f AS (
        SELECT *,
            CASE WHEN flow = 'import' THEN
                 (pair_ok AND lp > p_q3 + {cfg.k} * p_iqr) OR lp > w_q3 + {cfg.k_world} * w_iqr
            ELSE (pair_ok AND lp < p_q1 - {cfg.k} * p_iqr) OR lp < w_q1 - {cfg.k_world} * w_iqr END AS hit,
            (lp - p_med) / (p_iqr / 1.349) AS z_pair, (lp - w_med) / (w_iqr / 1.349) AS z_world
        FROM s
    ), g AS (
        SELECT *, pair_ok AND abs(z_pair) >= abs(z_world) AS by_pair FROM f
    )
    SELECT trade_id,
        CASE WHEN flow = 'import' THEN 'price_high_import' ELSE 'price_low_export' END AS rule,
        CASE WHEN by_pair THEN z_pair ELSE z_world END AS robust_z,
        CASE WHEN by_pair THEN 'pair' ELSE 'world' END AS ref_level,
        value_usd / quantity AS unit_price_usd,
        exp(CASE WHEN by_pair THEN p_med ELSE w_med END) AS ref_median,
        exp(CASE WHEN by_pair THEN p_q1 - {cfg.k} * p_iqr ELSE w_q1 - {cfg.k_world} * w_iqr END) AS ref_low,
        exp(CASE WHEN by_pair THEN p_q3 + {cfg.k} * p_iqr ELSE w_q3 + {cfg.k_world} * w_iqr END) AS ref_high,
        CASE WHEN by_pair THEN p_n ELSE w_n END AS ref_n,
        value_usd - quantity * exp(CASE WHEN by_pair THEN p_med ELSE w_med END) AS excess_usd
    FROM g WHERE hit {where}
    """
    return sql, params


def scan(
    store: Store,
    cfg: ScanConfig | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    raise_alerts: bool = True,
    min_alert_score: float = 0.5,
) -> ScanReport:
    """Run every screen, replace ``trade_flags`` for the scanned period, raise one alert per flagged trade."""
    cfg = cfg or ScanConfig()
    now = datetime.now(UTC).replace(tzinfo=None)
    price_sql, params = _price_sql(cfg, since, until)
    period = []
    pparams: list[Any] = []
    if since is not None:
        period.append("t.date >= ?")
        pparams.append(since)
    if until is not None:
        period.append("t.date <= ?")
        pparams.append(until)
    pwhere = ("AND " + " AND ".join(period)) if period else ""
    pharma = ", ".join(f"'{c}'" for c in cfg.pharma_origins if c.isalpha() and len(c) == 2)
    gold = ", ".join(f"'{c}'" for c in cfg.gold_producers if c.isalpha() and len(c) == 2)
    biz = pa.table(
        {
            "entity_type": [k for k, v in cfg.business_chapters.items() for _ in v],
            "chapter": [c for v in cfg.business_chapters.values() for c in v],
        }
    )
    with store.transaction():
        scanned = int(store.scalar(f"SELECT count(*) FROM trade_transactions t WHERE true {pwhere}", pparams) or 0)
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __biz (entity_type VARCHAR, chapter VARCHAR)")
        store.execute("DELETE FROM __biz")
        store.insert_arrow("__biz", biz)
        store.execute(
            "DELETE FROM trade_flags WHERE trade_id IN "
            f"(SELECT trade_id FROM trade_transactions t WHERE true {pwhere})",
            pparams,
        )
        store.execute(
            f"""INSERT INTO trade_flags (trade_id, rule, score, robust_z, unit_price_usd, ref_median, ref_low, ref_high,
                ref_n, ref_level, detail, scanned_at)
            SELECT trade_id, rule, 1.0 / (1.0 + exp(-(abs(robust_z) - 4.0) / 1.5)), robust_z, unit_price_usd,
                ref_median, ref_low, ref_high, ref_n, ref_level,
                printf('unit price %.4g USD vs median %.4g (%s, n=%d); excess %.0f USD', unit_price_usd, ref_median,
                       ref_level, ref_n, excess_usd), ?
            FROM ({price_sql})""",
            [now, *params],
        )
        store.execute(
            f"""INSERT INTO trade_flags (trade_id, rule, score, detail, scanned_at)
            SELECT trade_id, 'unlikely_origin',
                CASE WHEN hs6 LIKE '7108%' THEN 0.6 ELSE 0.55 END,
                CASE WHEN hs6 LIKE '7108%'
                     THEN 'gold (HS 7108) ' || flow || ' with origin ' || origin || ', not a gold producer'
                     ELSE 'medicaments (HS 3004) imported from ' || origin
                          || ', not a known pharmaceutical exporter' END, ?
            FROM trade_transactions t
            WHERE ((hs6 LIKE '3004%' AND flow = 'import' AND origin NOT IN ({pharma or "''"}))
                OR (hs6 LIKE '7108%' AND origin NOT IN ({gold or "''"}))) {pwhere}""",
            [now, *pparams],
        )
        store.execute(
            f"""INSERT INTO trade_flags (trade_id, rule, score, detail, scanned_at)
            SELECT t.trade_id, 'goods_business', 0.6,
                'importer ' || t.importer || ' (' || p.entity_type || ') imports HS ' || t.hs6
                || ', outside the chapters of its business', ?
            FROM trade_transactions t JOIN parties p ON p.party_id = t.importer
            WHERE t.flow = 'import' AND p.entity_type IN (SELECT entity_type FROM __biz)
              AND NOT EXISTS (SELECT 1 FROM __biz b
                              WHERE b.entity_type = p.entity_type AND b.chapter = substr(t.hs6, 1, 2))
              {pwhere}""",
            [now, *pparams],
        )
        counts = dict(
            store.query(
                f"""SELECT rule, count(*) FROM trade_flags WHERE trade_id IN
                (SELECT trade_id FROM trade_transactions t WHERE true {pwhere}) GROUP BY rule""",
                pparams,
            )
        )
    flagged = trade_alerts(store, since=since, until=until, min_score=min_alert_score)
    n_alerts = insert_alerts(store, flagged) if raise_alerts else 0
    n_trades = int(
        store.scalar(
            f"SELECT count(DISTINCT trade_id) FROM trade_flags WHERE trade_id IN "
            f"(SELECT trade_id FROM trade_transactions t WHERE true {pwhere})",
            pparams,
        )
        or 0
    )
    return ScanReport(
        scanned=scanned, flags={str(k): int(v) for k, v in counts.items()}, flagged_trades=n_trades, alerts=n_alerts
    )


def ranked_flags(store: Store, *, limit: int | None = None, offset: int = 0) -> pa.Table:
    """Flagged trades, one row each, by combined score (noisy-or of their rules), best first."""
    lim = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    return store.query_arrow(
        f"""SELECT t.trade_id, t.date, t.flow, t.hs6, t.origin, t.destination, t.importer, t.exporter,
               t.quantity, t.unit, t.value_usd, t.is_misinvoiced, t.scheme,
               1 - exp(sum(ln(greatest(1 - f.score, 1e-9)))) AS score,
               list(f.rule ORDER BY f.rule) AS rules, max(f.robust_z) AS max_z, min(f.robust_z) AS min_z,
               list(f.detail ORDER BY f.rule) AS details
        FROM trade_flags f JOIN trade_transactions t USING (trade_id)
        GROUP BY ALL ORDER BY score DESC, abs(coalesce(max_z, 0)) DESC, t.trade_id {lim}"""
    )


def trade_alerts(
    store: Store, *, since: date | None = None, until: date | None = None, min_score: float = 0.5
) -> list[AlertRecord]:
    tbl = ranked_flags(store)
    out: list[AlertRecord] = []
    rows = tbl.to_pylist()
    for r in rows:
        if r["score"] < min_score:
            continue
        if since is not None and r["date"] < since:
            continue
        if until is not None and r["date"] > until:
            continue
        codes = sorted({c for rule in r["rules"] for c in RULE_CODES.get(rule, [])})
        if r["hs6"].startswith("7108"):
            codes = sorted({*codes, "SPOPS"})
        features = [{"rule": rule, "detail": d} for rule, d in zip(r["rules"], r["details"], strict=True)]
        out.append(
            AlertRecord(
                source="tbml",
                title=(
                    f"Trade {r['trade_id']}: {', '.join(r['rules'])} (HS {r['hs6']} {r['origin']}→{r['destination']})"
                ),
                score=float(r["score"]),
                dedup_key=str(r["trade_id"]),
                typology="trade-based-money-laundering",
                vector="drugs" if r["hs6"].startswith("3004") else "financial-crime",
                indicator_codes=codes,
                rule_ids=list(r["rules"]),
                party_ids=[p for p in (r["importer"], r["exporter"]) if p],
                explanation={
                    "summary": "; ".join(f["detail"] for f in features),
                    "rules": features,
                    "trade": {
                        k: r[k] for k in ("flow", "hs6", "origin", "destination", "quantity", "unit", "value_usd")
                    },
                },
                event_ts=datetime(r["date"].year, r["date"].month, r["date"].day),
            )
        )
    return out
