"""The population of a world: banks, people and organisations, their accounts, exchange rates.

Everything is held column-wise (numpy arrays, Arrow string arrays) and built without per-row
Python, so that a 5-million-row world's half-million accounts cost well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.model.currencies import NAME_TO_CODE
from filiere.scenario import names as nm
from filiere.scenario.templates import BASE_RATES, Template

KINDS = (
    "person",
    "company",
    "shop",
    "pharmacy",
    "importer",
    "npo",
    "mt_agent",
    "mm_agent",
    "exchange",
    "art_dealer",
    "utility",
    "lender",
)
K = {k: i for i, k in enumerate(KINDS)}
#: share of entities per kind (persons take the rest), and the minimum count of each
_KIND_SHARE = {
    "company": 0.045,
    "shop": 0.04,
    "pharmacy": 0.008,
    "importer": 0.01,
    "npo": 0.004,
    "mt_agent": 0.004,
    "mm_agent": 0.004,
    "exchange": 0.0004,
    "art_dealer": 0.0008,
    "utility": 0.0006,
    "lender": 0.0005,
}
_KIND_MIN = {"exchange": 3, "art_dealer": 3, "utility": 3, "lender": 2, "npo": 4, "mt_agent": 4, "mm_agent": 6}
#: FtM schema per kind
FTM_SCHEMA = {k: ("Person" if k == "person" else "Organization" if k == "npo" else "Company") for k in KINDS}

#: bank kinds
BANK, MOBILE_OPERATOR, CRYPTO_CUSTODIAN = 0, 1, 2

FORMATS = ("Reinvestment", "Cheque", "Credit Card", "ACH", "Cash", "Wire", "Bitcoin", "Mobile Money")
F = {f: i for i, f in enumerate(FORMATS)}


def mix32(i: np.ndarray, salt: int) -> np.ndarray:
    """A bijection of 32-bit integers (murmur3's finaliser), so that hashed ids never collide."""
    x = (i.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return x


_HEX = pa.array([f"{i:02X}" for i in range(256)])


def hex_ids(x: np.ndarray, prefix: str) -> pa.StringArray:
    """``prefix`` + 8 upper-case hex digits of each 32-bit value, e.g. ``8000EBD30``-like account numbers."""
    parts = [_HEX.take(pa.array(((x >> np.uint64(s)) & np.uint64(255)).astype(np.int64))) for s in (24, 16, 8, 0)]
    out = pc.binary_join_element_wise(pa.scalar(prefix), *parts, "")
    assert isinstance(out, pa.StringArray)
    return out


def _pool(pools: dict[str, tuple[str, ...]]) -> tuple[pa.StringArray, dict[str, tuple[int, int]]]:
    flat: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    for key, values in pools.items():
        spans[key] = (len(flat), len(values))
        flat.extend(values)
    return pa.array(flat, pa.string()), spans


def _draw(
    rng: np.random.Generator, spans: dict[str, tuple[int, int]], keys: np.ndarray, key_names: list[str]
) -> np.ndarray:
    """For each row, an index into a flat pool restricted to the row's key."""
    off = np.array([spans[k][0] for k in key_names], dtype=np.int64)
    ln = np.array([spans[k][1] for k in key_names], dtype=np.int64)
    u = rng.random(len(keys))
    return np.asarray(off[keys] + (u * ln[keys]).astype(np.int64))


@dataclass
class World:
    template: Template
    seed: int
    start: date
    days: int
    countries: list[str]
    country_names: list[str]
    currencies: list[str]  # AMLworld names, index = currency id
    rates: np.ndarray  # [currency, day] units per USD
    # banks
    bank_id: pa.StringArray
    bank_name: pa.StringArray
    bank_country: np.ndarray
    bank_kind: np.ndarray
    # entities
    ent_kind: np.ndarray
    ent_country: np.ndarray
    ent_id: pa.StringArray
    ent_name: pa.StringArray
    ent_first: pa.StringArray
    ent_last: pa.StringArray
    ent_town: np.ndarray  # index into towns
    towns: list[str]
    town_country: np.ndarray
    ent_birth: pa.StringArray
    ent_phone: pa.StringArray
    ent_email: pa.StringArray
    ent_activity: np.ndarray
    # accounts
    acc_entity: np.ndarray
    acc_bank: np.ndarray
    acc_currency: np.ndarray
    acc_number: pa.StringArray
    acc_activity: np.ndarray
    acc_wallet: np.ndarray  # bool: mobile-money wallet
    acc_btc: np.ndarray  # bool: bitcoin account
    ent_first_acc: np.ndarray  # first (primary fiat) account of each entity
    #: accounts reserved by schemes (no background activity)
    reserved: set[int] = field(default_factory=set)
    #: per-entity overrides applied at write time: field -> value
    overrides: dict[int, dict[str, str]] = field(default_factory=dict)
    #: bitcoin accounts are on-chain addresses (bank id ``BTC``) and the vector files are written
    vectors: bool = False
    #: account number replacements (e.g. a ransom address taken from a real tagpack), see
    #: :meth:`apply_account_overrides`
    acc_overrides: dict[int, str] = field(default_factory=dict)

    @property
    def n_accounts(self) -> int:
        return len(self.acc_entity)

    @property
    def acc_kind(self) -> np.ndarray:
        return np.asarray(self.ent_kind[self.acc_entity])

    @property
    def acc_country(self) -> np.ndarray:
        return np.asarray(self.bank_country[self.acc_bank])

    def currency_id(self, name: str) -> int:
        return self.currencies.index(name)

    def account_label(self, a: int) -> str:
        return f"{self.bank_id[int(self.acc_bank[a])].as_py()}:{self.acc_number[a].as_py()}"

    def entity_label(self, e: int) -> str:
        return str(self.ent_id[e].as_py())

    def apply_account_overrides(self) -> None:
        """Write :attr:`acc_overrides` into :attr:`acc_number` (once, before the files are written)."""
        if not self.acc_overrides:
            return
        idx = sorted(self.acc_overrides)
        mask = np.zeros(self.n_accounts, dtype=bool)
        mask[idx] = True
        out = pc.replace_with_mask(self.acc_number, pa.array(mask), pa.array([self.acc_overrides[i] for i in idx]))
        assert isinstance(out, pa.StringArray)
        self.acc_number = out
        self.acc_overrides = {}


def build_world(template: Template, rows: int, seed: int, *, vectors: bool | None = None) -> World:
    """The population of a world. With ``vectors`` (default: the template's), bitcoin accounts sit on
    the ``BTC`` chain (bank id ``BTC``) and their numbers are bech32 addresses with valid checksums."""
    vectors = template.vectors if vectors is None else vectors
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    countries = [c.code for c in template.countries]
    cweights = np.array([c.weight for c in template.countries])
    cweights = cweights / cweights.sum()
    n_c = len(countries)

    # currencies: local ones, then the majors and bitcoin
    cur_names: list[str] = []
    for c in template.countries:
        if c.currency not in cur_names:
            cur_names.append(c.currency)
    for extra in ("US Dollar", "Euro", "Bitcoin"):
        if extra not in cur_names:
            cur_names.append(extra)
    assert all(n in NAME_TO_CODE for n in cur_names)
    days = template.days
    base = np.array([BASE_RATES[n] for n in cur_names])
    vol = np.array([0.03 if n == "Bitcoin" else 0.0 if n in ("US Dollar",) else 0.001 for n in cur_names])
    steps = rng.normal(0.0, 1.0, (len(cur_names), days)) * vol[:, None]
    steps[:, 0] = 0.0
    rates = base[:, None] * np.exp(np.cumsum(steps, axis=1))
    # pegged currencies move together (XOF and XAF are pegged to the euro)
    if "Euro" in cur_names:
        eur = rates[cur_names.index("Euro")]
        for peg in ("CFA Franc BCEAO", "CFA Franc BEAC"):
            if peg in cur_names:
                rates[cur_names.index(peg)] = eur * (655.957)
    local_cur = np.array([cur_names.index(c.currency) for c in template.countries])

    # --- entities
    n_accounts_target = max(300, int(rows / template.rows_per_account))
    n_ent = max(200, int(n_accounts_target / 1.45))
    counts = {k: max(_KIND_MIN.get(k, 2), round(s * n_ent)) for k, s in _KIND_SHARE.items()}
    if template.mobile_money:
        counts["mm_agent"] = max(counts["mm_agent"], round(0.02 * n_ent))
        counts["mt_agent"] = max(counts["mt_agent"], round(0.008 * n_ent))
    counts_list = [max(50, n_ent - sum(counts.values()))] + [counts[k] for k in KINDS[1:]]
    ent_kind = np.repeat(np.arange(len(KINDS), dtype=np.int8), counts_list)
    n_ent = len(ent_kind)
    ent_country = rng.choice(n_c, size=n_ent, p=cweights).astype(np.int16)
    # exchanges and art dealers sit in hubs when the template has them
    hubs = [i for i, c in enumerate(countries) if c in ("CH", "GB", "AE", "FR", "US")]
    for k in ("exchange", "art_dealer"):
        m = ent_kind == K[k]
        if hubs and m.any():
            ent_country[m] = rng.choice(hubs, size=int(m.sum()))
    ent_activity = rng.lognormal(0.0, 1.1, n_ent)
    ent_activity[ent_kind != K["person"]] *= 4.0
    for k, f in (("utility", 30.0), ("exchange", 20.0), ("mm_agent", 6.0), ("mt_agent", 4.0), ("lender", 10.0)):
        ent_activity[ent_kind == K[k]] *= f

    ent_id = hex_ids(mix32(np.arange(n_ent), seed * 7919 + 17), "E")

    # names
    first_pool, first_spans = _pool(nm.FIRST)
    last_pool, last_spans = _pool(nm.LAST)
    pool_keys = list(nm.FIRST)
    ckey = np.array([pool_keys.index(c.names) for c in template.countries])
    keys = ckey[ent_country]
    first = first_pool.take(pa.array(_draw(rng, first_spans, keys, pool_keys)))
    last = last_pool.take(pa.array(_draw(rng, last_spans, keys, pool_keys)))
    person_name = pc.binary_join_element_wise(first, last, " ")
    # organisation names: "<Word|Surname> <Sector> <Suffix>"
    sector_pool, sector_spans = _pool(nm.SECTORS)
    sector_keys = list(nm.SECTORS)
    kind_to_sector = np.array([sector_keys.index(k) if k in nm.SECTORS else 0 for k in KINDS])
    sector = sector_pool.take(pa.array(_draw(rng, sector_spans, kind_to_sector[ent_kind], sector_keys)))
    words = pa.array(nm.WORDS)
    word = words.take(pa.array(rng.integers(0, len(nm.WORDS), n_ent)))
    lead = pc.if_else(pa.array(rng.random(n_ent) < 0.45), last, word)
    suffix_pool, suffix_spans = _pool({c: nm.SUFFIXES.get(c, nm.DEFAULT_SUFFIXES) for c in countries})
    suffix = suffix_pool.take(pa.array(_draw(rng, suffix_spans, ent_country.astype(np.int64), countries)))
    org_name = pc.binary_join_element_wise(lead, sector, suffix, " ")
    is_person = pa.array(ent_kind == K["person"])
    ent_name = pc.if_else(is_person, person_name, org_name)

    towns: list[str] = []
    town_country: list[int] = []
    spans_t: dict[str, tuple[int, int]] = {}
    for i, c in enumerate(template.countries):
        spans_t[c.code] = (len(towns), len(c.towns))
        towns.extend(c.towns)
        town_country.extend([i] * len(c.towns))
    # the first town of a country is its capital: more people live there
    u = rng.random(n_ent) ** 1.6
    ln_t = np.array([spans_t[c][1] for c in countries])[ent_country]
    ent_town = np.array([spans_t[c][0] for c in countries])[ent_country] + (u * ln_t).astype(np.int64)

    birth_days = rng.integers(0, 365 * 52, n_ent)
    births = (np.datetime64("1952-01-01") + birth_days.astype("timedelta64[D]")).astype(str)
    ent_birth = pa.array(births.tolist())
    prefixes = pa.array([c.phone_prefix for c in template.countries])
    digits = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**8, n_ent)), pa.string()), 8, "0")
    ent_phone = pc.binary_join_element_wise(prefixes.take(pa.array(ent_country.astype(np.int64))), digits, " ")
    domain = pc.if_else(is_person, pa.scalar("mail.example"), pa.scalar("corp.example"))
    local_part = pc.utf8_lower(
        pc.replace_substring_regex(pc.binary_join_element_wise(first, last, "."), r"[^A-Za-z.]", "")
    )
    num = pc.cast(pa.array(rng.integers(1, 99, n_ent)), pa.string())
    ent_email = pc.binary_join_element_wise(pc.binary_join_element_wise(local_part, num, ""), domain, "@")

    # --- banks: a few per country (more where more people live), mobile-money operators, crypto custodians
    n_banks_total = int(np.clip(rows // 4000, 24, 1500))
    per_c = np.maximum(1, np.round(cweights * n_banks_total)).astype(np.int64)
    bank_country_l: list[int] = np.repeat(np.arange(n_c), per_c).tolist()
    bank_kind_l = [BANK] * len(bank_country_l)
    if template.mobile_money:
        for i in range(n_c):
            if template.countries[i].currency in (
                "CFA Franc BCEAO",
                "CFA Franc BEAC",
                "Naira",
                "Cedi",
                "Guinean Franc",
                "Ouguiya",
            ):
                bank_country_l += [i, i]
                bank_kind_l += [MOBILE_OPERATOR, MOBILE_OPERATOR]
    hub = hubs[0] if hubs else 0
    bank_country_l += [hub, hubs[-1] if hubs else 0, hub]
    bank_kind_l += [CRYPTO_CUSTODIAN] * 3
    bank_country = np.array(bank_country_l, dtype=np.int16)
    bank_kind = np.array(bank_kind_l, dtype=np.int8)
    n_banks = len(bank_country)
    bank_num = np.sort(rng.choice(np.arange(1, 300000), size=n_banks, replace=False))
    bank_num = rng.permutation(bank_num)
    bank_id_l = [f"{b:03d}" if b < 1000 else f"{b:05d}" if b < 100000 else f"{b:06d}" for b in bank_num.tolist()]
    if vectors:  # on-chain: every bitcoin account is an address on the BTC chain
        bank_id_l = ["BTC" if bank_kind[j] == CRYPTO_CUSTODIAN else b for j, b in enumerate(bank_id_l)]
    bank_id = pa.array(bank_id_l)
    bank_name_l = []
    for j in range(n_banks):
        c = template.countries[int(bank_country[j])]
        if bank_kind[j] == MOBILE_OPERATOR:
            bank_name_l.append(f"{nm.WORDS[(j * 7) % len(nm.WORDS)]} Mobile Money {c.code} #{j}")
        elif bank_kind[j] == CRYPTO_CUSTODIAN and vectors:
            bank_name_l.append("Bitcoin")
        elif bank_kind[j] == CRYPTO_CUSTODIAN:
            bank_name_l.append(f"{nm.WORDS[(j * 11) % len(nm.WORDS)]} Digital Custody #{j}")
        else:
            bank_name_l.append(f"{nm.WORDS[(j * 13) % len(nm.WORDS)]} Bank of {c.name.replace(',', '')} #{j}")
    bank_name = pa.array(bank_name_l)
    regular = [np.flatnonzero((bank_country == i) & (bank_kind == BANK)) for i in range(n_c)]
    mobile = [np.flatnonzero((bank_country == i) & (bank_kind == MOBILE_OPERATOR)) for i in range(n_c)]
    custodians = np.flatnonzero(bank_kind == CRYPTO_CUSTODIAN)

    # --- accounts: fiat accounts at banks, wallets at mobile operators, bitcoin accounts at custodians
    is_p = ent_kind == K["person"]
    n_acc = np.where(is_p, 1 + rng.geometric(0.8, n_ent) - 1, 1 + rng.geometric(0.45, n_ent) - 1)
    n_acc = np.minimum(n_acc, 8)
    acc_entity = np.repeat(np.arange(n_ent, dtype=np.int32), n_acc)
    first_idx = np.concatenate([[0], np.cumsum(n_acc)[:-1]])
    is_first = np.zeros(len(acc_entity), dtype=bool)
    is_first[first_idx] = True
    # country of the bank: home, or abroad for secondary accounts (importers more often)
    abroad_p = np.where(np.isin(ent_kind, [K["importer"], K["exchange"], K["art_dealer"]]), 0.4, 0.08)[acc_entity]
    abroad = (~is_first) & (rng.random(len(acc_entity)) < abroad_p)
    acc_c = ent_country[acc_entity].astype(np.int64)
    acc_c[abroad] = rng.choice(n_c, size=int(abroad.sum()), p=cweights)
    # bank within the country: a few big banks hold most accounts
    n_reg = np.array([len(r) for r in regular])
    off_reg = np.concatenate([[0], np.cumsum(n_reg)[:-1]])
    flat_reg = np.concatenate(regular)
    pick = (rng.random(len(acc_entity)) ** 2.2 * n_reg[acc_c]).astype(np.int64)
    acc_bank = flat_reg[off_reg[acc_c] + pick].astype(np.int32)
    acc_cur = local_cur[acc_c].astype(np.int16)
    fx = rng.random(len(acc_entity)) < template.foreign_currency_share
    usd, eur = cur_names.index("US Dollar"), cur_names.index("Euro")
    acc_cur[fx] = np.where(rng.random(int(fx.sum())) < 0.6, usd, eur)
    acc_wallet = np.zeros(len(acc_entity), dtype=bool)
    acc_btc = np.zeros(len(acc_entity), dtype=bool)

    extra_ent: list[np.ndarray] = []
    extra_bank: list[np.ndarray] = []
    extra_cur: list[np.ndarray] = []
    extra_wallet: list[np.ndarray] = []
    extra_btc: list[np.ndarray] = []
    if template.mobile_money:
        wants = np.flatnonzero(
            (is_p & (rng.random(n_ent) < 0.7)) | np.isin(ent_kind, [K["mm_agent"], K["shop"], K["pharmacy"]])
        )
        n_mob = np.array([len(m) for m in mobile])
        wants = wants[n_mob[ent_country[wants]] > 0]
        if len(wants):
            off_mob = np.concatenate([[0], np.cumsum(n_mob)[:-1]])
            flat_mob = np.concatenate(mobile)
            wc = ent_country[wants].astype(np.int64)
            banks = flat_mob[off_mob[wc] + (rng.random(len(wants)) * n_mob[wc]).astype(np.int64)]
            extra_ent.append(wants.astype(np.int32))
            extra_bank.append(banks.astype(np.int32))
            extra_cur.append(local_cur[ent_country[wants]].astype(np.int16))
            extra_wallet.append(np.ones(len(wants), dtype=bool))
            extra_btc.append(np.zeros(len(wants), dtype=bool))
    btc_p = np.where(is_p, 0.03, 0.0)
    btc_p[ent_kind == K["exchange"]] = 1.0
    wants_btc = np.flatnonzero(rng.random(n_ent) < btc_p)
    n_ex = int((ent_kind == K["exchange"]).sum())
    ex_idx = np.flatnonzero(ent_kind == K["exchange"])
    # an exchange's bitcoin account and its customers' accounts sit at its custodian
    cust_of_ex = custodians[np.arange(n_ex) % len(custodians)]
    btc_bank = custodians[rng.integers(0, len(custodians), len(wants_btc))]
    is_ex = np.isin(wants_btc, ex_idx)
    btc_bank[is_ex] = cust_of_ex[np.searchsorted(ex_idx, wants_btc[is_ex])]
    btc = cur_names.index("Bitcoin")
    extra_ent.append(wants_btc.astype(np.int32))
    extra_bank.append(btc_bank.astype(np.int32))
    extra_cur.append(np.full(len(wants_btc), btc, dtype=np.int16))
    extra_wallet.append(np.zeros(len(wants_btc), dtype=bool))
    extra_btc.append(np.ones(len(wants_btc), dtype=bool))

    acc_entity = np.concatenate([acc_entity, *extra_ent])
    acc_bank = np.concatenate([acc_bank, *extra_bank])
    acc_cur = np.concatenate([acc_cur, *extra_cur])
    acc_wallet = np.concatenate([acc_wallet, *extra_wallet])
    acc_btc = np.concatenate([acc_btc, *extra_btc])
    n_accounts = len(acc_entity)
    acc_activity = ent_activity[acc_entity] * rng.lognormal(0.0, 0.5, n_accounts)
    acc_activity[first_idx] *= 2.5
    acc_number = hex_ids(mix32(np.arange(n_accounts), seed * 104729 + 3), "8")
    if vectors and acc_btc.any():
        from filiere.scenario.addresses import random_addresses

        addr = random_addresses(int(acc_btc.sum()), np.random.SeedSequence([seed, 21]))
        replaced = pc.replace_with_mask(acc_number, pa.array(acc_btc), addr)
        assert isinstance(replaced, pa.StringArray)
        acc_number = replaced

    return World(
        template=template,
        seed=seed,
        start=date.fromisoformat(template.start),
        days=days,
        countries=countries,
        country_names=[c.name for c in template.countries],
        currencies=cur_names,
        rates=rates,
        bank_id=bank_id,
        bank_name=bank_name,
        bank_country=bank_country,
        bank_kind=bank_kind,
        ent_kind=ent_kind,
        ent_country=ent_country,
        ent_id=ent_id,
        ent_name=ent_name,
        ent_first=first,
        ent_last=last,
        ent_town=ent_town,
        towns=towns,
        town_country=np.array(town_country),
        ent_birth=ent_birth,
        ent_phone=ent_phone,
        ent_email=ent_email,
        ent_activity=ent_activity,
        acc_entity=acc_entity,
        acc_bank=acc_bank,
        acc_currency=acc_cur,
        acc_number=acc_number,
        acc_activity=acc_activity,
        acc_wallet=acc_wallet,
        acc_btc=acc_btc,
        ent_first_acc=first_idx.astype(np.int64),
        vectors=vectors,
    )
