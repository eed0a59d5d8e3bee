"""Synthetic trade worlds with mis-invoicing schemes and their ground truth (vectorised numpy).

Background: declarations of a catalogue of HS6 goods along trade lanes (origin → destination), each
lane with its own price level, each shipment with lognormal noise around it. Schemes:

- ``tramadol``: medicaments (HS 300490) imported into the Sahel and Nigeria by front companies (general
  traders) from Indian exporters, paid 5-30× market: money out of the importing country.
- ``over_import``: any good imported at 2.5-10× its lane price (money out).
- ``under_export``: any good exported at 1/10-1/2.5 of its lane price (value moved out unrecorded).
- ``gold_transit``: gold (HS 710812) exported from countries that mine little (transit of smuggled gold).

``generate`` returns the declarations (the columns :func:`filiere.vectors.trade.ingest.normalise_table`
reads, plus truth) and the parties (``filiere.model.PARTY_SCHEMA``) with their ``entity_type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from filiere.model.schemas import PARTY_SCHEMA

#: hs6, unit, world price in USD per unit, business role that imports it
CATALOGUE: tuple[tuple[str, str, float, str], ...] = (
    ("300490", "kg", 40.0, "pharma_wholesaler"),
    ("300420", "kg", 65.0, "pharma_wholesaler"),
    ("710812", "kg", 60000.0, "gold_dealer"),
    ("100630", "kg", 0.55, "food_trader"),
    ("170199", "kg", 0.45, "food_trader"),
    ("090111", "kg", 3.2, "food_trader"),
    ("040221", "kg", 3.5, "food_trader"),
    ("151110", "kg", 0.9, "food_trader"),
    ("520100", "kg", 1.8, "textile_trader"),
    ("610910", "u", 3.0, "textile_trader"),
    ("620342", "u", 9.0, "textile_trader"),
    ("870323", "u", 14000.0, "car_dealer"),
    ("871120", "u", 900.0, "car_dealer"),
    ("851712", "u", 160.0, "electronics_retailer"),
    ("847130", "u", 550.0, "electronics_retailer"),
    ("852872", "u", 240.0, "electronics_retailer"),
    ("271019", "l", 0.75, "fuel_distributor"),
    ("310210", "kg", 0.35, "agro_supplier"),
    ("252329", "kg", 0.08, "construction"),
    ("721420", "kg", 0.7, "construction"),
)
COUNTRIES = (
    "NE",
    "ML",
    "BF",
    "TD",
    "NG",
    "GH",
    "CI",
    "SN",
    "TG",
    "BJ",
    "MA",
    "DZ",
    "FR",
    "DE",
    "IN",
    "CN",
    "TR",
    "AE",
    "US",
    "BE",
)
SAHEL = ("NE", "ML", "BF", "TD", "NG")
GOLD_TRANSIT = ("TG", "BJ", "TD", "AE")


@dataclass(slots=True)
class TradeWorld:
    trades: pa.Table
    parties: pa.Table

    @property
    def truth(self) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
        return np.asarray(self.trades.column("is_misinvoiced").to_numpy(zero_copy_only=False), dtype=bool)


def generate(
    n: int = 50_000,
    *,
    seed: int = 7,
    start: date = date(2024, 1, 1),
    days: int = 730,
    scheme_rate: float = 0.01,
    n_companies: int = 2_000,
    lanes_per_good: int = 12,
    noise_sigma: float = 0.25,
) -> TradeWorld:
    rng = np.random.default_rng(seed)
    n_goods = len(CATALOGUE)
    hs6 = np.array([c[0] for c in CATALOGUE])
    unit = np.array([c[1] for c in CATALOGUE])
    price = np.array([c[2] for c in CATALOGUE])
    role = np.array([c[3] for c in CATALOGUE])
    countries = np.array(COUNTRIES)
    nc = len(countries)

    # lanes: per good, a set of (origin, destination) pairs with their own price level
    lane_good = np.repeat(np.arange(n_goods), lanes_per_good)
    n_lanes = len(lane_good)
    lane_o = rng.integers(0, nc, n_lanes)
    lane_d = (lane_o + rng.integers(1, nc, n_lanes)) % nc
    lane_level = rng.normal(0.0, 0.15, n_lanes)
    lane_weight = rng.pareto(1.2, n_lanes) + 0.1
    pharma = np.flatnonzero(np.isin(hs6[lane_good], ["300490", "300420"]))
    lane_o[pharma] = rng.choice(np.flatnonzero(np.isin(countries, ["IN", "CN", "FR", "DE", "BE"])), len(pharma))
    gold = np.flatnonzero(hs6[lane_good] == "710812")
    lane_o[gold] = rng.choice(np.flatnonzero(np.isin(countries, ["ML", "BF", "GH", "NE", "US"])), len(gold))
    lane_d[gold] = rng.choice(np.flatnonzero(np.isin(countries, ["AE", "IN", "TR"])), len(gold))
    same = lane_o == lane_d
    lane_d[same] = (lane_d[same] + 1) % nc

    lane = rng.choice(n_lanes, n, p=lane_weight / lane_weight.sum())
    good = lane_good[lane]
    origin = countries[lane_o[lane]]
    dest = countries[lane_d[lane]]
    flow = np.where(rng.random(n) < 0.6, "import", "export")
    qty = np.round(np.exp(rng.normal(np.log(np.where(price[good] > 1000, 5, 2000)), 1.0, n)), 2) + 1
    log_p = np.log(price[good]) + lane_level[lane] + rng.normal(0.0, noise_sigma, n)
    day = rng.integers(0, days, n)

    # companies: importers and exporters by role
    roles = np.array(sorted(set(role.tolist()) | {"general_trading"}))
    comp_role = rng.choice(roles, n_companies)
    comp_country = rng.choice(countries, n_companies)
    comp_ids = np.array([f"TRD-C{i:05d}" for i in range(n_companies)])
    importer = np.empty(n, dtype=object)
    exporter = comp_ids[rng.integers(0, n_companies, n)]
    for r in roles:
        idx = np.flatnonzero(role[good] == r)
        pool = np.flatnonzero(comp_role == r)
        if len(idx) and len(pool):
            importer[idx] = comp_ids[rng.choice(pool, len(idx))]
    left = np.flatnonzero(importer == None)  # noqa: E711 - numpy elementwise comparison
    if len(left):
        importer[left] = comp_ids[rng.integers(0, n_companies, len(left))]

    scheme = np.full(n, "", dtype=object)
    n_s = int(n * scheme_rate)
    # tramadol: front companies (general traders) importing into the Sahel from India at 5-30x
    n_tram = max(1, n_s // 4)
    fronts = np.flatnonzero(comp_role == "general_trading")[:25]
    t_idx = rng.choice(n, n_tram, replace=False)
    good[t_idx] = int(np.flatnonzero(hs6 == "300490")[0])
    origin[t_idx] = "IN"
    dest[t_idx] = rng.choice(np.array(SAHEL), n_tram)
    flow[t_idx] = "import"
    qty[t_idx] = np.round(np.exp(rng.normal(np.log(800), 0.6, n_tram)), 2) + 1
    log_p[t_idx] = np.log(price[good[t_idx]]) + rng.normal(0, noise_sigma, n_tram) + np.log(rng.uniform(5, 30, n_tram))
    importer[t_idx] = comp_ids[rng.choice(fronts, n_tram)] if len(fronts) else importer[t_idx]
    scheme[t_idx] = "tramadol"
    free = np.setdiff1d(np.arange(n), t_idx)
    rest = rng.choice(free, n_s - n_tram, replace=False)
    k = len(rest)
    o_idx, u_idx, g_idx = rest[: k * 2 // 5], rest[k * 2 // 5 : k * 4 // 5], rest[k * 4 // 5 :]
    flow[o_idx] = "import"
    log_p[o_idx] += np.log(rng.uniform(2.5, 10, len(o_idx)))
    scheme[o_idx] = "over_import"
    flow[u_idx] = "export"
    log_p[u_idx] -= np.log(rng.uniform(2.5, 10, len(u_idx)))
    scheme[u_idx] = "under_export"
    good[g_idx] = int(np.flatnonzero(hs6 == "710812")[0])
    origin[g_idx] = rng.choice(np.array(GOLD_TRANSIT), len(g_idx))
    dest[g_idx] = "CH"
    flow[g_idx] = "export"
    qty[g_idx] = np.round(np.exp(rng.normal(np.log(5), 0.5, len(g_idx))), 2) + 1
    log_p[g_idx] = np.log(price[good[g_idx]]) + rng.normal(0, noise_sigma, len(g_idx))
    scheme[g_idx] = "gold_transit"

    value = np.round(np.exp(log_p) * qty, 2)
    dates = np.datetime64(start, "D") + day.astype("timedelta64[D]")
    order = np.argsort(dates, kind="stable")
    trades = pa.table(
        {
            "trade_id": pa.array([f"T{i:08d}" for i in range(n)]),
            "date": pa.array(dates[order]),
            "flow": pa.array(flow[order].astype(str)),
            "hs_code": pa.array(hs6[good][order]),
            "quantity": pa.array(qty[order]),
            "unit": pa.array(unit[good][order]),
            "value": pa.array(value[order]),
            "currency": pa.array(np.full(n, "USD")),
            "origin": pa.array(origin[order].astype(str)),
            "destination": pa.array(dest[order].astype(str)),
            "importer": pa.array(importer[order].astype(str)),
            "exporter": pa.array(exporter[order].astype(str)),
            "is_misinvoiced": pa.array(scheme[order] != ""),
            "scheme": pa.array([s or None for s in scheme[order].tolist()], pa.string()),
        }
    )
    parties = pa.table(
        {
            "party_id": pa.array(comp_ids),
            "schema": pa.array(np.full(n_companies, "Company")),
            "name": pa.array([f"Trading company {i}" for i in range(n_companies)]),
            "birth_date": pa.nulls(n_companies, pa.string()),
            "nationality": pa.nulls(n_companies, pa.string()),
            "country": pa.array(np.char.lower(comp_country.astype(str))),
            "address": pa.nulls(n_companies, pa.string()),
            "phone": pa.nulls(n_companies, pa.string()),
            "email": pa.nulls(n_companies, pa.string()),
            "id_number": pa.nulls(n_companies, pa.string()),
            "entity_type": pa.array(comp_role.astype(str)),
            "properties": pa.nulls(n_companies, pa.string()),
            "source_file_id": pa.array(np.full(n_companies, "synthetic:trade")),
        },
        schema=PARTY_SCHEMA,
    )
    return TradeWorld(trades, parties)
