"""The crime-vector files of a world: art offers, trade invoices and crypto tags, with their truth.

- ``art_offers.csv``: objects sold by the world's art dealers, in the FBI National Stolen Art File's
  columns plus the sale's parties and payment. The ANTIQUITIES schemes' objects are perturbed
  copies of real register records (typos, reordered maker, unit changes, missing fields); every other
  sale is an unrelated object.
- ``trade.csv`` and ``trade_parties.csv``: a year of customs declarations of the world's importers,
  pharmacies and gold dealers (HS code, quantity, unit, value, currency, origin, destination,
  importer, exporter), with tramadol (HS 3004) imports over-invoiced by the drug scheme's trading
  company and gold (HS 7108) exported from countries that mine little; the parties file gives each
  trader's business role (``entity_type``) and the foreign counterparties.
- ``crypto_tags.yaml``: a GraphSense tagpack of the world's exchange addresses and ransom addresses
  (the ransom addresses are real ones from the ransomware tagpack).

Background declarations are drawn column-wise (numpy); offers and schemes are few.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from filiere.scenario import names as nm
from filiere.scenario.world import K, World

if TYPE_CHECKING:
    from filiere.scenario.generator import Rows
    from filiere.scenario.schemes import Builder

FBI_COLUMNS = (
    "Title",
    "Category",
    "Reference Number",
    "Maker/Artist",
    "Materials",
    "Measurements",
    "Time Period",
    "Additional Information",
    "Image Link",
)
OFFER_COLUMNS = (
    *FBI_COLUMNS,
    "Seller Party ID",
    "Buyer Party ID",
    "Account ID",
    "Tx ID",
    "Tx Row",
    "Sale Date",
    "Price",
    "Currency",
)
TRADE_PARTY_COLUMNS = ("party_id", "schema", "name", "country", "entity_type")


# ---------------------------------------------------------------- reference data
@dataclass(frozen=True)
class ArtSource:
    records: tuple[dict[str, str], ...]  # eligible register records, FBI columns
    name: str
    sha256: str


def _eligible(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Records a matcher can single out: a title of 6+ characters unique in the register, a named
    maker and parseable measurements. Each keeps its 1-based data row (``row``): reference numbers
    repeat in the FBI file (objects stolen together share one)."""
    from collections import Counter

    from filiere.vectors.art.measure import parse_measurements

    def key(title: str) -> str:  # series ("Stations of the Cross - 12") share the title without digits
        return " ".join(re.sub(r"[\d\W_]+", " ", title.lower()).split())

    titles = Counter(key(r.get("Title", "")) for r in rows)
    out = []
    for row_no, r in enumerate(rows, start=1):
        title = r.get("Title", "").strip()
        maker = r.get("Maker/Artist", "").strip().lower()
        if len(title) < 6 or titles[key(title)] != 1 or not maker or "unknown" in maker:
            continue
        if not r.get("Reference Number", "").strip():
            continue
        m = parse_measurements(r.get("Measurements", ""))
        if m is None or not m.dims_cm:
            continue
        out.append({**{c: (r.get(c) or "").strip() for c in FBI_COLUMNS}, "row": str(row_no)})
    return out


@cache
def _art_source_cached(path: str, digest: str) -> ArtSource:
    p = Path(path)
    with p.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return ArtSource(tuple(_eligible(rows)), p.name, digest)


def art_source(shared_data: Path | None) -> ArtSource:
    """The stolen-art register: ``<shared_data>/art/fbi_nsaf.csv`` when present, else the sample
    shipped with filiere (``filiere/scenario/data/fbi_nsaf_sample.csv``)."""
    path: Path | None = None
    if shared_data is not None and (shared_data / "art" / "fbi_nsaf.csv").exists():
        path = shared_data / "art" / "fbi_nsaf.csv"
    if path is None:
        path = Path(str(resources.files("filiere.scenario").joinpath("data/fbi_nsaf_sample.csv")))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return _art_source_cached(str(path.resolve()), digest)


@cache
def ransom_addresses() -> tuple[tuple[str, str], ...]:
    """(address, family) of the real ransomware-tagged addresses shipped with filiere."""
    text = resources.files("filiere.scenario").joinpath("data/ransomware_addresses.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            addr, family = line.split("\t")
            out.append((addr, family))
    return tuple(out)


def prepare(b: Builder, seed: int, shared_data: Path | None) -> ArtSource:
    """Give the scheme builder its pools: shuffled stolen-art records and real ransom addresses."""
    src = art_source(shared_data)
    rng = random.Random(seed * 7_368_787 + 13)
    pool = list(src.records)
    rng.shuffle(pool)
    b.art_pool = pool
    addrs = list(ransom_addresses())
    rng.shuffle(addrs)
    b.ransom_pool = addrs
    return src


# ---------------------------------------------------------------- art offers
_SUBJECTS = (
    "Market day",
    "Women at the well",
    "Harmattan morning",
    "Fishermen on the river",
    "Salt caravan",
    "Evening prayer",
    "Dune study",
    "Griot with kora",
    "Indigo dyers",
    "Pirogues at dawn",
    "Baobab in the rainy season",
    "Portrait of a Fulani herder",
    "Mask dance",
    "Calabash seller",
    "Horsemen of the Sahel",
    "Weavers' courtyard",
    "Blue door",
    "Mud mosque",
    "Cattle crossing",
    "Tea ceremony",
)
_NOTES = ("signed lower right", "with gallery label", "certificate of the artist", "")
_KINDS = (
    ("Paintings", ("Oil on canvas", "Acrylic on canvas", "Gouache on paper", "Mixed media on board")),
    ("Sculpture", ("Bronze, lost-wax cast", "Carved wood", "Soapstone", "Terracotta")),
    ("Textile", ("Indigo-dyed cotton", "Bogolan mud cloth", "Strip-woven cotton, kente")),
    ("Photographs", ("Gelatin silver print", "Pigment print on baryta paper")),
    ("Jewelry", ("Silver, Tuareg cross", "Gold filigree", "Amber and silver beads")),
)


def _typo(s: str, rng: random.Random) -> str:
    chars = list(s)
    if len(chars) < 6:
        return s
    i = rng.randrange(2, len(chars) - 1)
    op = rng.choice("dst")
    if op == "d":
        del chars[i]
    elif op == "s":
        chars[i] = rng.choice("aeiourstln")
    else:
        chars[i - 1], chars[i] = chars[i], chars[i - 1]
    return "".join(chars)


def _frac(x: float) -> str:
    whole = int(x)
    q = round((x - whole) * 4)
    if q == 4:
        return str(whole + 1)
    return f"{whole} {q}/4" if q else str(whole)


def perturb(record: dict[str, str], rng: random.Random) -> tuple[dict[str, str], list[str]]:
    """A dealer's description of a register object: a typo in the title, the maker reordered, the
    measurements in the other unit, a field left out. Returns the row and the changes made."""
    from filiere.vectors.art.measure import parse_measurements

    out = {c: record[c] for c in FBI_COLUMNS}
    changes: list[str] = []
    out["Reference Number"] = ""
    out["Image Link"] = ""
    if rng.random() < 0.6 and len(out["Title"]) >= 16:  # short titles with a typo say too little
        out["Title"] = _typo(out["Title"], rng)
        changes.append("typo in title")
    maker = out["Maker/Artist"].split()
    if len(maker) >= 2 and "," not in out["Maker/Artist"] and rng.random() < 0.5:
        out["Maker/Artist"] = f"{maker[-1]}, {' '.join(maker[:-1])}"
        changes.append("maker reordered")
    m = parse_measurements(out["Measurements"])
    if m is not None and m.dims_cm and rng.random() < 0.6:
        text = out["Measurements"].lower()
        if "cm" in text or "mm" in text:
            out["Measurements"] = " x ".join(_frac(d / 2.54) for d in m.dims_cm) + " in"
        else:
            out["Measurements"] = " x ".join(f"{d:.1f}" for d in m.dims_cm) + " cm"
        changes.append("measurements in other unit")
    present = [c for c in ("Category", "Materials", "Time Period", "Additional Information") if out[c]]
    if present and rng.random() < 0.6:
        gone = rng.choice(present)
        out[gone] = ""
        changes.append(f"{gone.lower()} missing")
    return out, changes


def _legit_object(rng: random.Random, towns: list[str]) -> dict[str, str]:
    cat, materials = rng.choice(_KINDS)
    title = rng.choice(_SUBJECTS)
    if rng.random() < 0.5:
        title = f"{title}, {rng.choice(towns)}"
    if rng.random() < 0.3:
        title = f"{title} no. {rng.randint(2, 40)}"
    first = rng.choice(nm.FIRST["wa"])
    last = rng.choice(nm.LAST["wa"])
    h, w = rng.uniform(20, 180), rng.uniform(15, 150)
    meas = f"{h:.0f} x {w:.0f} cm" if rng.random() < 0.7 else f"{_frac(h / 2.54)} x {_frac(w / 2.54)} in"
    return {
        "Title": title,
        "Category": cat,
        "Reference Number": "",
        "Maker/Artist": f"{first} {last}",
        "Materials": rng.choice(materials),
        "Measurements": meas,
        "Time Period": str(rng.randint(1975, 2023)),
        "Additional Information": rng.choice(_NOTES),
        "Image Link": "",
    }


def _money(units: int, btc: bool) -> str:
    scale = 1_000_000 if btc else 100
    return f"{units // scale}.{units % scale:0{6 if btc else 2}d}"


def write_art_offers(
    path: Path,
    w: World,
    b: Builder,
    rows: Rows,
    row_of: np.ndarray,
    tx_prefix: str,
    n_rows: int,
    seed: int,
    src: ArtSource,
) -> dict[str, Any]:
    rng = random.Random(seed * 1_299_709 + 5)
    np_rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    by_row = {r["row"]: r for r in src.records}
    btc = w.currencies.index("Bitcoin")
    offers: list[tuple[int, dict[str, str], dict[str, Any] | None]] = []  # (minute, row, truth)

    def sale(i: int, seller_acc: int, buyer_acc: int) -> dict[str, str]:
        cur = int(w.acc_currency[int(rows.src[i])])
        return {
            "Seller Party ID": w.entity_label(int(w.acc_entity[seller_acc])),
            "Buyer Party ID": w.entity_label(int(w.acc_entity[buyer_acc])),
            "Account ID": w.account_label(buyer_acc),
            "Tx ID": f"{tx_prefix}:{int(row_of[i]) + 1}",
            "Tx Row": str(int(row_of[i]) + 1),
            "Sale Date": (w.start + timedelta(minutes=int(rows.t[i]))).isoformat(),
            "Price": _money(int(rows.paid[i]), cur == btc),
            "Currency": w.currencies[cur],
        }

    for s in b.schemes:
        ref = s.notes.get("fbi_reference")
        reg_row = str(s.notes.get("fbi_row", ""))
        if s.pattern != "ANTIQUITIES" or not ref or reg_row not in by_row:
            continue
        record = by_row[reg_row]
        for kind, (seller, buyer) in (
            ("purchase", (s.roles["shell"], s.roles["dealer"])),
            ("resale", (s.roles["dealer"], s.roles["buyer"])),
        ):
            i = s.links[kind]
            row, changes = perturb(record, rng)
            row["Reference Number"] = f"LOT-{int(rows.t[i]):05d}-{len(offers) + 1:03d}"
            row.update(sale(i, seller, buyer))
            truth = {
                "scheme": s.id,
                "sale": kind,
                "reference_number": ref,
                "register_title": record["Title"],
                "register_row": int(reg_row),
                "changes": changes,
            }
            offers.append((int(rows.t[i]), row, truth))

    # legitimate sales: the art dealers' own background sales, each an unrelated object
    kind_dst = w.ent_kind[w.acc_entity[rows.dst]]
    n_scheme = b.size()
    cand = np.flatnonzero((kind_dst == K["art_dealer"]) & (np.arange(len(rows.t)) >= n_scheme))
    want = int(np.clip(n_rows // 2000, 12, 600))
    if len(cand) > want:
        cand = np.sort(np_rng.choice(cand, want, replace=False))
    for i in cand.tolist():
        row = _legit_object(rng, w.towns)
        row.update(sale(i, int(rows.dst[i]), int(rows.src[i])))
        offers.append((int(rows.t[i]), row, None))
    for k, (_t, row, _truth) in enumerate(offers):
        if not row["Reference Number"]:
            row["Reference Number"] = f"LOT-{_t:05d}-{k + 1:03d}"
    offers.sort(key=lambda o: (o[0], o[1]["Reference Number"]))
    stolen = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(OFFER_COLUMNS), lineterminator="\n")
        wr.writeheader()
        for n, (_t, row, what) in enumerate(offers, start=1):
            wr.writerow(row)
            if what is not None:
                stolen.append({"offer_row": n, "title": row["Title"], "tx_row": int(row["Tx Row"]), **what})
    return {
        "file": path.name,
        "register": {"file": src.name, "sha256": src.sha256, "eligible_records": len(src.records)},
        "offers": len(offers),
        "stolen": stolen,
    }


# ---------------------------------------------------------------- trade
#: hs6 -> (unit, world price in USD per unit, description)
GOODS: dict[str, tuple[str, float, str]] = {
    "300490": ("kg", 40.0, "Medicaments, packaged for retail, n.e.s."),
    "300420": ("kg", 65.0, "Medicaments containing antibiotics, packaged"),
    "100630": ("kg", 0.55, "Rice, semi-milled or wholly milled"),
    "170199": ("kg", 0.45, "Cane or beet sugar, refined"),
    "040221": ("kg", 3.5, "Milk powder, unsweetened"),
    "151110": ("kg", 0.9, "Palm oil, crude"),
    "610910": ("u", 3.0, "T-shirts, cotton, knitted"),
    "620342": ("u", 9.0, "Men's trousers, cotton"),
    "870323": ("u", 14000.0, "Motor cars, 1500-3000 cc"),
    "871120": ("u", 900.0, "Motorcycles, 50-250 cc"),
    "851712": ("u", 160.0, "Mobile telephones"),
    "847130": ("u", 550.0, "Portable computers"),
    "271019": ("l", 0.75, "Gas oils and fuel oils"),
    "310210": ("kg", 0.35, "Urea fertiliser"),
    "252329": ("kg", 0.08, "Portland cement"),
    "721420": ("kg", 0.7, "Iron or steel bars, reinforcing"),
    "710812": ("kg", 60000.0, "Gold, unwrought, non-monetary"),
    "520100": ("kg", 1.8, "Cotton, not carded or combed"),
}
_IMPORT_WEIGHT = {
    "300490": 3.0,
    "300420": 1.5,
    "100630": 4.0,
    "170199": 2.0,
    "040221": 2.0,
    "151110": 1.5,
    "610910": 2.0,
    "620342": 1.5,
    "870323": 1.5,
    "871120": 2.5,
    "851712": 2.5,
    "847130": 1.0,
    "271019": 2.0,
    "310210": 1.5,
    "252329": 2.0,
    "721420": 1.5,
}
_ORIGINS: dict[str, tuple[str, ...]] = {
    "30": ("IN", "CN", "FR", "BE", "DE"),
    "10": ("IN", "TH", "VN", "PK"),
    "17": ("BR", "IN", "FR"),
    "04": ("FR", "NL", "IE"),
    "15": ("MY", "ID", "CI"),
    "61": ("CN", "TR", "BD"),
    "62": ("CN", "TR", "BD"),
    "87": ("FR", "DE", "JP", "AE"),
    "85": ("CN", "AE"),
    "84": ("CN", "AE"),
    "27": ("NG", "NL", "AE"),
    "31": ("MA", "RU", "NG"),
    "25": ("TR", "SN", "CN"),
    "72": ("TR", "CN", "UA"),
}
#: importer roles (filiere.vectors.trade.price.BUSINESS_CHAPTERS keys) and their shares among importers
_IMPORT_ROLES = {
    "general_trading": 0.3,
    "food_trader": 0.2,
    "textile_trader": 0.1,
    "electronics_retailer": 0.1,
    "car_dealer": 0.07,
    "fuel_distributor": 0.05,
    "construction": 0.08,
    "agro_supplier": 0.05,
    "pharma_wholesaler": 0.05,
}
_EU = ("FR", "BE", "DE", "NL", "IE")
_GOLD_BUYERS = ("AE", "CH", "TR", "IN")
_COTTON_BUYERS = ("CN", "IN", "TR", "BD")


def _chapter_ok(role: str, hs6: str) -> bool:
    from filiere.vectors.trade.price import BUSINESS_CHAPTERS

    return hs6[:2] in BUSINESS_CHAPTERS.get(role, ())


def write_trade(trade_path: Path, parties_path: Path, w: World, b: Builder, n_rows: int, seed: int) -> dict[str, Any]:
    from filiere.vectors.trade.price import GOLD_PRODUCERS

    rng = np.random.default_rng(np.random.SeedSequence([seed, 41]))
    pyr = random.Random(seed * 15_485_863 + 3)
    n = int(np.clip(n_rows // 15, 3000, 300_000))
    end = w.start + timedelta(days=w.days - 1)
    first_day = end - timedelta(days=364)
    world_first = (w.start - first_day).days  # day index of the world's first day
    cc = np.array(w.countries)
    kind = w.ent_kind
    country = w.ent_country.astype(np.int64)

    # business roles of the world's traders
    role = np.full(len(kind), "", dtype=object)
    imp = np.flatnonzero(kind == K["importer"])
    names_r = list(_IMPORT_ROLES)
    p_r = np.array(list(_IMPORT_ROLES.values()))
    role[imp] = rng.choice(names_r, len(imp), p=p_r / p_r.sum())
    role[kind == K["pharmacy"]] = "pharmacy"
    comp = np.flatnonzero(kind == K["company"])
    producer = np.isin(cc[country[comp]], GOLD_PRODUCERS)
    gold_dealers = comp[producer & (rng.random(len(comp)) < 0.05)]
    if len(gold_dealers) < 3 and producer.any():
        gold_dealers = comp[producer][:3]
    role[gold_dealers] = "gold_dealer"
    schemes_trade: list[dict[str, Any]] = []
    traders = [(s, int(w.acc_entity[s.roles["trader"]])) for s in b.schemes if "trader" in s.roles]
    for _s, e in traders:
        role[e] = "general_trading"
    transit_c = [i for i, c in enumerate(w.countries) if c not in GOLD_PRODUCERS]
    transit = comp[np.isin(country[comp], transit_c)] if transit_c else np.zeros(0, np.int64)
    transit_dealers = transit[: min(2, len(transit))] if len(transit) else np.zeros(0, np.int64)
    role[transit_dealers] = "gold_dealer"

    # foreign counterparties: a few suppliers/buyers per country
    foreign: dict[str, list[str]] = {}
    foreign_rows: list[dict[str, str]] = []

    def counterpart(code: str, k: int) -> str:
        ids = foreign.setdefault(code, [])
        while len(ids) <= k:
            pid = f"TRD-{code}-{len(ids) + 1:03d}"
            ids.append(pid)
            word = nm.WORDS[int(hashlib.sha256(f"{seed}|{pid}".encode()).hexdigest()[:6], 16) % len(nm.WORDS)]
            foreign_rows.append(
                {
                    "party_id": pid,
                    "schema": "Company",
                    "name": f"{word} {code} Trading {len(ids)}",
                    "country": code.lower(),
                    "entity_type": "general_trading",
                }
            )
        return ids[k]

    traders_all = np.flatnonzero(role != "")
    role_names = sorted({str(r) for r in role[traders_all].tolist()})
    hs = np.array(list(_IMPORT_WEIGHT))
    wts = np.array(list(_IMPORT_WEIGHT.values()))
    n_exp = n // 5
    n_imp = n - n_exp
    good = rng.choice(len(hs), n_imp, p=wts / wts.sum())
    imp_hs = hs[good]
    importer = np.full(n_imp, -1, dtype=np.int64)
    origin = np.empty(n_imp, dtype=object)
    for g, code in enumerate(hs.tolist()):
        idx = np.flatnonzero(good == g)
        if not len(idx):
            continue
        ok_roles = [r for r in role_names if _chapter_ok(r, code)]
        fits = traders_all[np.isin(role[traders_all], ok_roles)]
        if not len(fits):
            fits = imp
        importer[idx] = fits[rng.integers(0, len(fits), len(idx))]
        oris = np.array(_ORIGINS.get(code[:2], ("CN", "FR", "TR", "AE", "IN")))
        origin[idx] = oris[rng.integers(0, len(oris), len(idx))]
    dest = cc[country[importer]]
    same = origin == dest
    origin[same] = "CN"
    # exports: gold by gold dealers, cotton by traders
    gd = np.flatnonzero(role == "gold_dealer")
    gd = gd[~np.isin(gd, transit_dealers)]
    tx = np.flatnonzero(np.isin(role, ["general_trading", "textile_trader", "food_trader"]))
    is_gold = rng.random(n_exp) < (0.35 if len(gd) else 0.0)
    exporter_w = np.where(
        is_gold,
        gd[rng.integers(0, max(1, len(gd)), n_exp)] if len(gd) else 0,
        tx[rng.integers(0, max(1, len(tx)), n_exp)] if len(tx) else imp[0],
    )
    exp_hs = np.where(is_gold, "710812", "520100")
    exp_origin = cc[country[exporter_w]]
    buyers_g = np.array(_GOLD_BUYERS)[rng.integers(0, len(_GOLD_BUYERS), n_exp)]
    buyers_c = np.array(_COTTON_BUYERS)[rng.integers(0, len(_COTTON_BUYERS), n_exp)]
    exp_dest = np.where(is_gold, buyers_g, buyers_c)
    exp_dest = np.where(exp_dest == exp_origin, "CH", exp_dest)

    # columns for all declarations (imports first, then exports)
    hs6 = np.concatenate([imp_hs, exp_hs]).astype(str)
    flow = np.array(["import"] * n_imp + ["export"] * n_exp)
    org = np.concatenate([origin.astype(str), exp_origin.astype(str)])
    dst = np.concatenate([dest.astype(str), exp_dest.astype(str)])
    world_party = np.concatenate([importer, exporter_w])  # the world's side of each declaration
    goods_keys = sorted(GOODS)
    gidx = np.searchsorted(np.array(goods_keys), hs6)
    unit = np.array([GOODS[h][0] for h in goods_keys])[gidx]
    price = np.array([GOODS[h][1] for h in goods_keys])[gidx]
    desc = np.array([GOODS[h][2] for h in goods_keys])[gidx]
    # lane price levels (good × origin × destination)
    lane_key = np.char.add(np.char.add(hs6, org), dst)
    lanes, lane_inv = np.unique(lane_key, return_inverse=True)
    level = rng.normal(0.0, 0.15, len(lanes))[lane_inv]
    size = np.where(price > 1000, 4.0, np.where(price > 100, 300.0, 3000.0))
    qty = np.round(np.exp(rng.normal(np.log(size), 0.8)), 2) + 1
    log_p = np.log(price) + level + rng.normal(0.0, 0.25, n)
    day = rng.integers(0, 365, n)
    scheme = np.full(n, "", dtype=object)
    scheme_id = np.full(n, "", dtype=object)

    # tramadol: the drug scheme's trading company imports medicaments at 8-30x the market
    rows_extra: list[dict[str, Any]] = []
    for s, e in traders:
        k = pyr.randint(4, 10)
        supplier = counterpart("IN", pyr.randint(0, 2))
        days_ = sorted(pyr.randrange(0, 365) for _ in range(k - 2)) + [
            world_first + pyr.randrange(0, w.days) for _ in range(2)
        ]
        ids = []
        for d in sorted(days_):
            q = round(800 * float(np.exp(pyr.gauss(0, 0.5))), 2) + 1
            mult = pyr.uniform(8, 30)
            rows_extra.append(
                {
                    "hs6": "300490",
                    "flow": "import",
                    "origin": "IN",
                    "dest": str(cc[country[e]]),
                    "party": e,
                    "foreign": supplier,
                    "qty": q,
                    "log_p": float(np.log(GOODS["300490"][1] * mult) + pyr.gauss(0, 0.2)),
                    "day": d,
                    "scheme": "tramadol",
                    "scheme_id": s.id,
                    "desc": "Tramadol hydrochloride 225 mg tablets",
                }
            )
            ids.append(len(rows_extra) - 1)
        schemes_trade.append(
            {
                "id": f"{s.id}-TRADE",
                "scheme": s.id,
                "kind": "tramadol",
                "vector": "drugs",
                "party": w.entity_label(e),
                "supplier": supplier,
                "rows": ids,
            }
        )
    # gold transit: exports of gold from countries that mine little
    for j, e in enumerate(transit_dealers.tolist()):
        k = pyr.randint(3, 7)
        buyer = counterpart("AE", pyr.randint(0, 2))
        ids = []
        for _ in range(k):
            d = pyr.randrange(0, 365) if pyr.random() < 0.7 else world_first + pyr.randrange(0, w.days)
            rows_extra.append(
                {
                    "hs6": "710812",
                    "flow": "export",
                    "origin": str(cc[country[e]]),
                    "dest": "AE",
                    "party": e,
                    "foreign": buyer,
                    "qty": round(float(np.exp(pyr.gauss(np.log(8), 0.5))), 2) + 1,
                    "log_p": float(np.log(GOODS["710812"][1]) + pyr.gauss(0, 0.1)),
                    "day": d,
                    "scheme": "gold_transit",
                    "scheme_id": f"GOLD-{j + 1}",
                    "desc": GOODS["710812"][2],
                }
            )
            ids.append(len(rows_extra) - 1)
        schemes_trade.append(
            {
                "id": f"GOLD-{j + 1}",
                "scheme": None,
                "kind": "gold_transit",
                "vector": "gold",
                "party": w.entity_label(e),
                "buyer": buyer,
                "rows": ids,
            }
        )

    # foreign side of background declarations: a few counterparties per country
    fk = rng.integers(0, 6, n)
    foreign_code = np.where(flow == "import", org, dst)
    for code_k in np.unique(np.char.add(np.char.add(foreign_code.astype(str), "|"), fk.astype(str))).tolist():
        code, k_s = code_k.split("|")
        for k in range(int(k_s) + 1):
            counterpart(code, k)
    foreign_id = np.char.add(
        np.char.add(np.char.add("TRD-", foreign_code.astype(str)), "-"), np.char.zfill((fk + 1).astype(str), 3)
    ).astype(object)

    if rows_extra:
        ex = rows_extra
        hs6 = np.concatenate([hs6, [r["hs6"] for r in ex]])
        flow = np.concatenate([flow, [r["flow"] for r in ex]])
        org = np.concatenate([org, [r["origin"] for r in ex]])
        dst = np.concatenate([dst, [r["dest"] for r in ex]])
        world_party = np.concatenate([world_party, [r["party"] for r in ex]])
        foreign_id = np.concatenate([foreign_id, np.array([r["foreign"] for r in ex], dtype=object)])
        qty = np.concatenate([qty, [r["qty"] for r in ex]])
        log_p = np.concatenate([log_p, [r["log_p"] for r in ex]])
        day = np.concatenate([day, [r["day"] for r in ex]])
        desc = np.concatenate([desc, [r["desc"] for r in ex]])
        unit = np.concatenate([unit, [GOODS[r["hs6"]][0] for r in ex]])
        scheme = np.concatenate([scheme, np.array([r["scheme"] for r in ex], dtype=object)])
        scheme_id = np.concatenate([scheme_id, np.array([r["scheme_id"] for r in ex], dtype=object)])
    total = len(hs6)
    value_usd = np.round(np.exp(log_p) * qty, 2)
    eur = np.isin(org, _EU) & (flow == "import")
    cur = np.where(eur, "EUR", "USD")
    eur_rate = float(w.rates[w.currencies.index("Euro"), 0]) if "Euro" in w.currencies else 0.92
    value = np.where(eur, np.round(value_usd * eur_rate, 2), value_usd)
    ent_ids = np.asarray(w.ent_id.to_pylist(), dtype=object)
    world_ids = ent_ids[world_party]
    importer_id = np.where(flow == "import", world_ids, foreign_id)
    exporter_id = np.where(flow == "import", foreign_id, world_ids)
    order = np.lexsort((np.arange(total), day))
    inv = np.empty(total, dtype=np.int64)
    inv[order] = np.arange(total)
    trade_ids = np.char.add(f"W{seed}-T", np.char.zfill((np.arange(total) + 1).astype(str), 7))
    dates = np.datetime64(first_day, "D") + day[order].astype("timedelta64[D]")
    table = pa.table(
        {
            "trade_id": pa.array(trade_ids),
            "date": pa.array(dates),
            "flow": pa.array(flow[order].astype(str)),
            "hs_code": pa.array(hs6[order].astype(str)),
            "description": pa.array(desc[order].astype(str)),
            "quantity": pa.array(qty[order].astype(np.float64)),
            "unit": pa.array(unit[order].astype(str)),
            "value": pa.array(value[order]),
            "currency": pa.array(cur[order].astype(str)),
            "value_usd": pa.array(value_usd[order]),
            "origin": pa.array(org[order].astype(str)),
            "destination": pa.array(dst[order].astype(str)),
            "importer": pa.array(importer_id[order].astype(str)),
            "exporter": pa.array(exporter_id[order].astype(str)),
            "is_misinvoiced": pa.array(scheme[order] != ""),
            "scheme": pa.array([x or None for x in scheme_id[order].tolist()], pa.string()),
        }
    )
    pacsv.write_csv(table, trade_path)
    base = total - len(rows_extra)
    for st in schemes_trade:
        st["trade_ids"] = sorted(str(trade_ids[inv[base + i]]) for i in st.pop("rows"))

    # the parties file: the world's traders with their roles, and the foreign counterparties
    used = np.unique(world_party)
    schema_of = {k: ("Person" if k == "person" else "Organization" if k == "npo" else "Company") for k in K}
    kinds = list(K)
    names = w.ent_name
    with parties_path.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(TRADE_PARTY_COLUMNS), lineterminator="\n")
        wr.writeheader()
        for e in used.tolist():
            wr.writerow(
                {
                    "party_id": w.entity_label(e),
                    "schema": schema_of[kinds[int(kind[e])]],
                    "name": str(names[e].as_py()),
                    "country": w.countries[int(country[e])].lower(),
                    "entity_type": str(role[e]) or kinds[int(kind[e])],
                }
            )
        for r in sorted(foreign_rows, key=lambda x: x["party_id"]):
            wr.writerow(r)
    return {
        "file": trade_path.name,
        "parties_file": parties_path.name,
        "declarations": int(total),
        "misinvoiced": int((scheme != "").sum()),
        "start": first_day.isoformat(),
        "end": end.isoformat(),
        "schemes": schemes_trade,
    }


# ---------------------------------------------------------------- crypto
def write_crypto_tags(path: Path, w: World, b: Builder, seed: int) -> dict[str, Any]:
    kind = w.acc_kind
    ex = np.flatnonzero(w.acc_btc & (kind == K["exchange"]))
    lines = [
        f"title: {json.dumps(f'filiere {w.template.name} world (seed {seed}): exchanges and ransom addresses')}",
        "creator: filiere scenario generator",
        "description: Exchange deposit/hot wallets of the synthetic world, and its ransom addresses (real"
        " addresses of the GraphSense ransomware tagpack)",
        "currency: BTC",
        f"lastmod: {w.start.isoformat()}",
        "confidence: ground_truth",
        "source: filiere scenario",
        "tags:",
    ]
    exchanges = []
    for a in ex.tolist():
        label = str(w.ent_name[int(w.acc_entity[a])].as_py())
        addr = str(w.acc_number[a].as_py())
        lines += [f"- address: {addr}", f"  label: {json.dumps(label)}", "  category: exchange"]
        exchanges.append({"account": w.account_label(a), "party": w.entity_label(int(w.acc_entity[a]))})
    ransom = []
    for s in b.schemes:
        if s.pattern != "PEEL-CHAIN" or "ransom_address" not in s.notes:
            continue
        lines += [
            f"- address: {s.notes['ransom_address']}",
            f"  label: {json.dumps(s.notes['family'])}",
            "  abuse: ransomware",
            "  category: ransomware",
        ]
        ex_acc = s.roles["exchange_btc"]
        ransom.append(
            {
                "scheme": s.id,
                "address": s.notes["ransom_address"],
                "account": w.account_label(s.roles["ransom_account"]),
                "family": s.notes["family"],
                "tagpack": s.notes["tagpack"],
                "cash_out_account": w.account_label(ex_acc),
                "exchange_party": w.entity_label(int(w.acc_entity[ex_acc])),
            }
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"file": path.name, "exchanges": exchanges, "ransom": ransom}


def write_vector_files(
    out: Path,
    w: World,
    b: Builder,
    rows: Rows,
    row_of: np.ndarray,
    tx_prefix: str,
    n_rows: int,
    seed: int,
    src: ArtSource,
) -> tuple[dict[str, Path], dict[str, Any]]:
    files = {
        "art_offers": out / "art_offers.csv",
        "trade": out / "trade.csv",
        "trade_parties": out / "trade_parties.csv",
        "crypto_tags": out / "crypto_tags.yaml",
    }
    truth = {
        "art": write_art_offers(files["art_offers"], w, b, rows, row_of, tx_prefix, n_rows, seed, src),
        "trade": write_trade(files["trade"], files["trade_parties"], w, b, n_rows, seed),
        "crypto": write_crypto_tags(files["crypto_tags"], w, b, seed),
    }
    return files, truth
