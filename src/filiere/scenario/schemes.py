"""Illicit schemes hidden in a world: AMLworld's eight laundering patterns and the
terrorist-financing schemes of TYPOLOGIES.md.

Schemes are few (hundreds in a 5-million-row world), so each is built by a small Python function
that adds edges to a :class:`Builder`. Scheme accounts are drawn from the same population that
carries the background, so they also have normal activity; payment formats come from the same
pair classes as the background (:func:`filiere.scenario.background.formats_for`), and times follow
the same daily rhythm, so no single raw column gives the label away.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from filiere.scenario import names as nm
from filiere.scenario.background import Background, hour_weights
from filiere.scenario.world import FORMATS, K, World

F = {f: i for i, f in enumerate(FORMATS)}
#: schemes start up to a week before the world's first day (their earlier rows are not in the world)
WARMUP_MIN = 7 * 1440.0
AML_TYPES = ("FAN-OUT", "FAN-IN", "CYCLE", "SCATTER-GATHER", "GATHER-SCATTER", "STACK", "BIPARTITE", "RANDOM")
TF_TYPES = (
    "STRUCTURING",
    "PEEL-CHAIN",
    "ANTIQUITIES",
    "KIDNAP-RANSOM",
    "NPO-DIVERSION",
    "CELL-SELF-FUNDING",
    "CROWDFUNDING",
)
VECTOR = {
    **dict.fromkeys(AML_TYPES, "financial_crime"),
    "STRUCTURING": "drugs",
    "PEEL-CHAIN": "cyber",
    "ANTIQUITIES": "art",
    "KIDNAP-RANSOM": "kidnapping",
    "NPO-DIVERSION": "npo",
    "CELL-SELF-FUNDING": "small_cells",
    "CROWDFUNDING": "crowdfunding",
}
TYPOLOGY = {
    "FAN-OUT": "fan-out",
    "FAN-IN": "fan-in",
    "CYCLE": "cycle",
    "SCATTER-GATHER": "scatter-gather",
    "GATHER-SCATTER": "gather-scatter",
    "STACK": "stack (layered bipartite)",
    "BIPARTITE": "bipartite",
    "RANDOM": "random walk",
    "STRUCTURING": "drug/tramadol cash structuring by couriers, pass-through, trading company or hawala, cell",
    "PEEL-CHAIN": "ransomware payment, peel chain, exchange cash-out",
    "ANTIQUITIES": "looted antiquities sold through a dealer and a shell company",
    "KIDNAP-RANSOM": "kidnapping ransom dispersed through wallets and mobile-money agents",
    "NPO-DIVERSION": "NPO diversion: large deposits into a new NPO, outflows to high-risk countries",
    "CELL-SELF-FUNDING": "small-cell self-funding: loan cash-out, tickets and equipment, dormancy",
    "CROWDFUNDING": "crowdfunding into many wallets sharing a phone, layering, cash-out",
    "INTEGRATION": "integration payments from laundered funds (in no pattern)",
}
_OBJECTS = (
    "Roman marble head",
    "Palmyrene funerary relief",
    "Assyrian cuneiform tablet",
    "Byzantine gold coin hoard",
    "Nok terracotta figure",
    "Djenne-Djeno terracotta",
    "Timbuktu manuscript",
    "Hellenistic bronze statuette",
    "Sumerian cylinder seal",
    "Islamic glazed tile panel",
)


@dataclass
class Scheme:
    id: str
    pattern: str
    detail: str
    typed: bool = True
    parent: str | None = None
    edges: list[int] = field(default_factory=list)  # labelled rows (indices into the builder)
    context: list[int] = field(default_factory=list)  # unlabelled rows of the story
    accounts: list[int] = field(default_factory=list)  # accounts controlled by the scheme
    parties: list[int] = field(default_factory=list)  # entities behind them
    holding: list[int] = field(default_factory=list)  # accounts left holding laundered funds
    sanctioned: list[dict[str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    #: named rows of the story (builder indices), for the vector files: e.g. the sale's payment
    links: dict[str, int] = field(default_factory=dict)
    #: named accounts of the story (dealer, shell, trader, ransom address…), for the vector files
    roles: dict[str, int] = field(default_factory=dict)
    #: entities whose name or contact details the scheme overrode (undone if it falls outside the period)
    overridden: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    #: accounts whose number the scheme overrode (a real ransomware address)
    overridden_accounts: list[int] = field(default_factory=list)

    @property
    def vector(self) -> str:
        return VECTOR.get(self.pattern, "financial_crime")

    @property
    def typology(self) -> str:
        return TYPOLOGY[self.pattern]

    @property
    def header(self) -> str:
        return f"{self.pattern}:  {self.detail}" if self.detail else self.pattern


class Builder:
    """Collects scheme rows as columns (minutes, accounts, US dollars, format, label)."""

    def __init__(self, world: World, seed: int) -> None:
        self.w = world
        self.rng = random.Random(seed * 1_000_003 + 7)
        self.np_rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
        self.T = world.days * 1440
        #: every scheme started now stays inside the period (:meth:`start`)
        self.whole = False
        self.t: list[int] = []
        self.src: list[int] = []
        self.dst: list[int] = []
        self.usd: list[float] = []
        self.fmt: list[int] = []
        self.label: list[bool] = []
        self.rnd: list[bool] = []
        self.schemes: list[Scheme] = []
        self.used: set[int] = set()
        self.listed_used: set[str] = set()
        self.pools = Background(world, self.np_rng)
        #: AMLworld calibration (template fields; off for other templates and for vector worlds)
        tpl = world.template
        calibrated = not world.vectors
        self.launder_formats = dict(tpl.launder_formats) if calibrated else {}
        self.criminal_share = tpl.criminal_share if calibrated else 0.0
        self.span = tpl.span_scale if calibrated else 1.0
        #: the criminal-controlled accounts (:meth:`make_criminals`)
        self.criminals = np.zeros(0, np.int64)
        self._crim_by_country: dict[int, np.ndarray] = {}
        #: criminal accounts already in the scheme being built (reset by :meth:`begin`)
        self.taken: set[int] = set()
        #: set while an AMLworld pattern or an integration payment is built: its accounts may come
        #: from the criminal pool and its open formats follow ``launder_formats``
        self.aml = False
        #: vector worlds: stolen-art records (FBI NSAF columns) and real ransomware addresses to draw from
        self.vectors = world.vectors
        self.art_pool: list[dict[str, str]] = []
        self.ransom_pool: list[tuple[str, str]] = []
        self._art_next = 0
        self._ransom_next = 0
        self._cache: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}
        cw = np.array([c.weight for c in world.template.countries])
        self.country_weights = (cw / cw.sum()).tolist()
        self.home = 0
        w = world
        self.acc_country = w.bank_country[w.acc_bank]
        self.high_risk = [i for i, c in enumerate(w.template.countries) if c.high_risk]
        kind = w.acc_kind
        self.pool_arrays: dict[str, np.ndarray] = {
            "person": self.pools.person_fiat,
            "business": self.pools.business,
            "any": np.concatenate([self.pools.person_fiat, self.pools.business]),
            "importer": np.flatnonzero(self.pools.fiat & (kind == K["importer"])),
            "company": np.flatnonzero(self.pools.fiat & (kind == K["company"])),
            "mt_agent": self.pools.mt_fiat,
            "mm_agent": self.pools.agent_wallets,
            "wallet": self.pools.person_wallet,
            "person_btc": self.pools.person_btc,
            "ex_btc": self.pools.ex_btc,
            "ex_fiat": self.pools.ex_fiat,
            "npo": self.pools.npo,
            "art_dealer": np.flatnonzero(self.pools.fiat & (kind == K["art_dealer"])),
            "lender": np.flatnonzero(self.pools.fiat & (kind == K["lender"])),
            "shop": np.flatnonzero(self.pools.fiat & (kind == K["shop"])),
        }

    # ---- accounts
    def _in(self, pool: str, countries: list[int]) -> np.ndarray:
        key = (pool, tuple(countries))
        if key not in self._cache:
            arr = self.pool_arrays.get(pool, np.zeros(0, np.int64))
            self._cache[key] = arr[np.isin(self.acc_country[arr], countries)]
        return self._cache[key]

    def pick(self, pool: str, n: int = 1, countries: list[int] | None = None, reuse: bool = False) -> list[int]:
        """``n`` distinct accounts from ``pool``: in ``countries`` if given, else mostly in the scheme's
        home country (as in the background, most payments stay within one country and currency)."""
        if self.aml and self.criminal_share > 0 and len(self.criminals) and countries is None and n > 0:
            # each account from the criminal pool with probability criminal_share (fewer when the
            # pool runs short in a tiny world), the others from the population
            k = sum(1 for _ in range(n) if self.rng.random() < self.criminal_share)
            crim = self.criminal(k)
            return crim + (self._pick(pool, n - len(crim), countries, reuse) if n > len(crim) else [])
        return self._pick(pool, n, countries, reuse)

    def _pick(self, pool: str, n: int, countries: list[int] | None, reuse: bool) -> list[int]:
        every = self.pool_arrays.get(pool, np.zeros(0, np.int64))
        if len(every) == 0:
            every = self.pool_arrays["person"] if pool != "person" else self.pool_arrays["any"]
        near = self._in(pool, countries if countries is not None else [self.home])
        if len(near) < n:
            near = every
        out: list[int] = []
        for _ in range(50 * n + 50):
            if len(out) == n:
                break
            arr = near if countries is not None or self.rng.random() < 0.88 else every
            a = int(arr[self.rng.randrange(len(arr))])
            if a in out or (not reuse and a in self.used):
                continue
            out.append(a)
        while len(out) < n:  # tiny worlds: accept reuse
            out.append(int(every[self.rng.randrange(len(every))]))
        if not reuse:
            self.used.update(out)
        return out

    def make_criminals(self, n: int, activity: float) -> None:
        """A pool of ``n`` criminal-controlled fiat accounts, half of businesses, half of people. Their
        background activity is scaled by ``activity``, and ordinary draws (:meth:`pick`) never
        return them."""
        rng = self.np_rng
        biz, ppl = self.pools.business, self.pools.person_fiat
        nb = min(len(biz), n // 2)
        npp = min(len(ppl), n - nb)
        chosen = np.concatenate([rng.choice(biz, nb, replace=False), rng.choice(ppl, npp, replace=False)]).astype(
            np.int64
        )
        self.criminals = np.sort(chosen)
        self.used.update(int(a) for a in self.criminals)
        self.w.acc_activity[self.criminals] *= activity

    def criminal(self, k: int, exclude: tuple[int, ...] = ()) -> list[int]:
        """``k`` distinct accounts of the criminal pool (they may already serve other attempts), mostly
        in the scheme's home country, as :meth:`pick` draws: a pattern's payments rarely change currency."""
        out: list[int] = []
        every = self.criminals
        if self.home not in self._crim_by_country:
            self._crim_by_country[self.home] = every[self.acc_country[every] == self.home]
        near = self._crim_by_country[self.home]
        taken = self.taken.union(exclude)
        for _ in range(20 * k + 20):
            if len(out) >= min(k, len(every) - len(taken)):
                break
            c = near if len(near) > len(out) + len(taken) and self.rng.random() < 0.88 else every
            a = int(c[self.rng.randrange(len(c))])
            if a not in out and a not in taken:
                out.append(a)
        self.taken.update(out)
        return out

    def fiat_of(self, a: int) -> int:
        """The primary (fiat) account of the entity that holds account ``a``."""
        return int(self.w.ent_first_acc[self.w.acc_entity[a]])

    # ---- time
    def when(self, t: float, profile: str = "business") -> int:
        """Move ``t`` forward to a plausible hour (the daily rhythm of the background). Not clipped: a
        row outside the world's period is dropped by :meth:`compact`."""
        hw = hour_weights(profile)
        top = hw.max()
        ti = int(t)
        for _ in range(30):
            h = (ti // 60) % 24
            if self.rng.random() < hw[h] / top:
                break
            ti += 30 + self.rng.randrange(60)
        return ti

    def delay(self, median_min: float, sigma: float = 0.8) -> float:
        return median_min * math.exp(self.rng.gauss(0.0, sigma))

    def start(self, span_min: float, whole: bool = False) -> float:
        """A scheme's start, uniform from :data:`WARMUP_MIN` before the world's first day to its last:
        the world is a window on an ongoing activity (as any bank's extract), and rows before or
        after it are dropped, so the density of illicit rows neither ramps up early nor thins out late.
        ``whole`` keeps the scheme inside the world (``span_min`` must cover it), for stories whose
        rows the vector files name."""
        if whole or self.whole:
            return self.rng.uniform(0.0, max(1.0, self.T - span_min - 1))
        return self.rng.uniform(-WARMUP_MIN, self.T - 1.0)

    def inside(self, s: Scheme) -> int:
        """Labelled rows of ``s`` inside the world's period."""
        return sum(1 for i in s.edges if 0 <= self.t[i] < self.T)

    def compact(self) -> None:
        """Drop the rows past the world's end (renumbering the schemes' row indices), and the schemes
        left with no labelled row; rows of schemes with named rows (``links``) are clipped instead."""
        T = self.T
        keep = [0 <= t < T for t in self.t]
        for s in self.schemes:
            if s.links:
                for i in (*s.edges, *s.context):
                    keep[i] = True
                    self.t[i] = min(max(self.t[i], 0), T - 1)
        new_index: list[int] = []
        n = 0
        for k in keep:
            new_index.append(n if k else -1)
            n += k
        for name in ("t", "src", "dst", "usd", "fmt", "label", "rnd"):
            col = getattr(self, name)
            setattr(self, name, [v for v, k in zip(col, keep, strict=True) if k])
        kept: list[Scheme] = []
        renamed: dict[str, str] = {}
        for s in self.schemes:
            if not all(keep[i] for i in (*s.edges, *s.context)):
                s.notes["cut_by_period"] = True  # some rows fell before or after the world's period
            s.edges = [new_index[i] for i in s.edges if keep[i]]
            s.context = [new_index[i] for i in s.context if keep[i]]
            s.links = {k: new_index[i] for k, i in s.links.items()}
            if not s.edges:  # no laundering left in the window: its context rows stay, unlabelled
                for e, keys in s.overridden:
                    ov = self.w.overrides.get(e, {})
                    for key in keys:
                        ov.pop(key, None)
                    if not ov:
                        self.w.overrides.pop(e, None)
                for a in s.overridden_accounts:
                    self.w.acc_overrides.pop(a, None)
                continue
            new_id = f"S{len(kept) + 1:04d}"
            renamed[s.id] = new_id
            s.id = new_id
            kept.append(s)
        for s in kept:
            if s.parent is not None:  # None: the funds were laundered before the period
                s.parent = renamed.get(s.parent)
        self.schemes = kept

    # ---- rows
    def edge(
        self,
        s: Scheme,
        t: float,
        src: int,
        dst: int,
        usd: float,
        fmt: str | None = None,
        label: bool = True,
        rnd: bool = False,
    ) -> int:
        if fmt is None and label and self.aml and self.launder_formats:
            u = self.rng.random()
            for name, p in self.launder_formats.items():
                if u < p:
                    fmt = name
                    break
                u -= p
        i = len(self.t)
        self.t.append(int(t))
        self.src.append(src)
        self.dst.append(dst)
        self.usd.append(max(float(usd), 0.05))
        self.fmt.append(-1 if fmt is None else F[fmt])
        self.label.append(label)
        self.rnd.append(rnd)
        (s.edges if label else s.context).append(i)
        return i

    def begin(self) -> None:
        """Start a scheme: draw its home country (where most of its accounts are)."""
        self.home = self.rng.choices(range(len(self.country_weights)), weights=self.country_weights)[0]
        self.taken = set()

    def new(self, pattern: str, detail: str = "", typed: bool = True, parent: str | None = None) -> Scheme:
        s = Scheme(id=f"S{len(self.schemes) + 1:04d}", pattern=pattern, detail=detail, typed=typed, parent=parent)
        self.schemes.append(s)
        return s

    def control(self, s: Scheme, accounts: list[int], holding: bool = False) -> None:
        for a in accounts:
            if a not in s.accounts:
                s.accounts.append(a)
                e = int(self.w.acc_entity[a])
                if e not in s.parties:
                    s.parties.append(e)
            if holding and a not in s.holding:
                s.holding.append(a)

    def sanction(self, s: Scheme, account: int, p: float = 0.5) -> None:
        """With probability ``p``, give the account's holder (a person) a UN-listed name variant."""
        e = int(self.w.acc_entity[account])
        if self.w.ent_kind[e] != K["person"] or self.rng.random() >= p or e in self.w.overrides:
            return
        people = [x for x in nm.listed_people() if x.reference not in self.listed_used] or list(nm.listed_people())
        person = self.rng.choice(people)
        self.listed_used.add(person.reference)
        name, kind = nm.spelling_variant(person.name, self.rng)
        ov: dict[str, str] = {"name": name, "firstName": "", "lastName": ""}
        if person.birth_year:
            ov["birthDate"] = person.birth_year
        self.w.overrides[e] = ov
        s.overridden.append((e, tuple(ov)))
        s.sanctioned.append(
            {
                "entity_id": self.w.entity_label(e),
                "name": name,
                "un_reference": person.reference,
                "un_name": person.name,
                "variant": kind,
            }
        )

    def amount(self, median_usd: float, sigma: float = 0.9) -> float:
        return median_usd * math.exp(self.rng.gauss(0.0, sigma))

    def fee(self) -> float:
        return 1.0 - self.rng.uniform(0.01, 0.05)

    def size(self) -> int:
        return len(self.t)


# ---------------------------------------------------------------- AMLworld's eight
def fan_out(b: Builder) -> Scheme:
    r = b.rng
    k = min(16, 2 + int(r.expovariate(1 / 4)))
    s = b.new("FAN-OUT", f"Max {k}-degree Fan-Out")
    src = b.pick(r.choice(["any", "business"]))[0]
    dsts = b.pick("any", k)
    total = b.amount(12000.0)
    t0 = b.start(5 * 1440)
    span = b.delay(1440, 1.0) * b.span
    rnd = r.random() < 0.3
    for d in dsts:
        b.edge(s, b.when(t0 + r.random() * span), src, d, total / k * r.uniform(0.7, 1.3), rnd=rnd)
    b.control(s, [src, *dsts])
    b.control(s, dsts, holding=True)
    return s


def fan_in(b: Builder) -> Scheme:
    r = b.rng
    k = min(16, 2 + int(r.expovariate(1 / 4)))
    s = b.new("FAN-IN", f"Max {k}-degree Fan-In")
    dst = b.pick(r.choice(["any", "business"]))[0]
    srcs = b.pick("any", k)
    total = b.amount(12000.0)
    t0 = b.start(5 * 1440)
    span = b.delay(1440, 1.0) * b.span
    rnd = r.random() < 0.3
    for a in srcs:
        b.edge(s, b.when(t0 + r.random() * span), a, dst, total / k * r.uniform(0.7, 1.3), rnd=rnd)
    b.control(s, [*srcs, dst])
    b.control(s, [dst], holding=True)
    return s


def _chain(
    b: Builder, s: Scheme, accts: list[int], t: float, usd: float, median_delay: float = 480.0
) -> tuple[float, float]:
    for a, c in itertools.pairwise(accts):
        t = b.when(t + b.delay(median_delay))
        b.edge(s, t, a, c, usd)
        usd *= b.fee()
    return t, usd


def cycle(b: Builder) -> Scheme:
    r = b.rng
    n = r.randint(2, 10)
    s = b.new("CYCLE", f"Max {n} hops")
    accts = b.pick("any", n)
    t0 = b.start(n * 1440 * 0.9)
    _chain(b, s, [*accts, accts[0]], t0, b.amount(9000.0), median_delay=360.0 * b.span)
    b.control(s, accts, holding=False)
    b.control(s, [accts[0]], holding=True)
    return s


def scatter_gather(b: Builder) -> Scheme:
    r = b.rng
    k = r.randint(2, 8)
    s = b.new("SCATTER-GATHER")
    src, sink = b.pick("any", 2)
    mids = b.pick("any", k)
    total = b.amount(15000.0)
    t0 = b.start(6 * 1440)
    for m in mids:
        amt = total / k * r.uniform(0.8, 1.2)
        t1 = b.when(t0 + r.random() * 600 * b.span)
        b.edge(s, t1, src, m, amt)
        b.edge(s, b.when(t1 + b.delay(900) * b.span), m, sink, amt * b.fee())
    b.control(s, [src, *mids, sink])
    b.control(s, [sink], holding=True)
    return s


def gather_scatter(b: Builder) -> Scheme:
    r = b.rng
    k_in, k_out = r.randint(2, 8), r.randint(2, 8)
    s = b.new("GATHER-SCATTER", f"Max {k_in}-degree Fan-In")
    hub = b.pick("any")[0]
    srcs = b.pick("any", k_in)
    dsts = b.pick("any", k_out)
    t0 = b.start(6 * 1440)
    total = 0.0
    for a in srcs:
        amt = b.amount(2500.0, 0.6)
        b.edge(s, b.when(t0 + r.random() * 1440 * b.span), a, hub, amt)
        total += amt
    last_in = max(b.t[i] for i in s.edges)
    for d in dsts:
        b.edge(s, b.when(last_in + b.delay(600) * b.span), hub, d, total / k_out * b.fee() * r.uniform(0.85, 1.15))
    b.control(s, [*srcs, hub, *dsts])
    b.control(s, dsts, holding=True)
    return s


def stack(b: Builder) -> Scheme:
    r = b.rng
    layers = [b.pick("any", r.randint(2, 4)) for _ in range(r.randint(3, 4))]
    s = b.new("STACK")
    t = b.start(8 * 1440)
    inflow = {a: b.amount(6000.0, 0.6) for a in layers[0]}
    for la, lb in itertools.pairwise(layers):
        t = t + b.delay(720) * b.span
        nxt: dict[int, float] = dict.fromkeys(lb, 0.0)
        for a in la:
            for c in lb:
                amt = inflow[a] / len(lb) * b.fee()
                b.edge(s, b.when(t + r.random() * 240 * b.span), a, c, amt)
                nxt[c] += amt
        inflow = nxt
    b.control(s, [a for la in layers for a in la])
    b.control(s, layers[-1], holding=True)
    return s


def bipartite(b: Builder) -> Scheme:
    r = b.rng
    srcs = b.pick("any", r.randint(2, 6))
    dsts = b.pick("any", r.randint(2, 6))
    s = b.new("BIPARTITE")
    t0 = b.start(4 * 1440)
    for a in srcs:
        for c in r.sample(dsts, r.randint(1, len(dsts))):
            b.edge(s, b.when(t0 + r.random() * 2 * 1440 * b.span), a, c, b.amount(3000.0, 0.7))
    b.control(s, [*srcs, *dsts])
    b.control(s, dsts, holding=True)
    return s


def random_walk(b: Builder) -> Scheme:
    r = b.rng
    hops = r.randint(3, 10)
    s = b.new("RANDOM", f"Max {hops} hops")
    pool = b.pick("any", max(3, hops // 2 + 2))
    walk = [r.choice(pool)]
    for _ in range(hops):
        walk.append(r.choice([a for a in pool if a != walk[-1]]))
    t0 = b.start(hops * 1440 * 0.8)
    _chain(b, s, walk, t0, b.amount(7000.0), median_delay=400.0 * b.span)
    b.control(s, pool)
    b.control(s, [walk[-1]], holding=True)
    return s


# ---------------------------------------------------------------- terrorist financing
def structuring(b: Builder, via: str | None = None) -> Scheme:
    """Couriers deposit cash just below the threshold in several towns; pass-through; trader or hawala; cell.

    ``via`` forces the route (``importer``: a trading company; ``mt_agent``: a hawaladar)."""
    r, w = b.rng, b.w
    thr = w.template.cash_threshold_usd
    n_cour = r.randint(4, 10)
    home = b.high_risk or list(range(len(w.countries)))
    couriers = b.pick("person", n_cour, countries=home)
    collectors = b.pick(r.choice(["person", "business"]), r.randint(1, 2), countries=home)
    drawn = r.choice(["importer", "mt_agent"])
    via = via or drawn
    trader = b.pick(via)[0]
    cell = b.pick("person", r.randint(1, 3), countries=b.high_risk or None)
    towns = sorted({w.towns[int(w.ent_town[w.acc_entity[c]])] for c in couriers})
    s = b.new("STRUCTURING", f"{n_cour} couriers, cash deposits below {thr:,.0f} USD in {len(towns)} towns")
    s.notes.update(
        {"threshold_usd": thr, "towns": towns, "route": "hawala" if via == "mt_agent" else "trading company"}
    )
    if via == "importer":
        s.roles["trader"] = trader
    t0 = b.start(9 * 1440)
    got = dict.fromkeys(collectors, 0.0)
    last = dict.fromkeys(collectors, t0)
    for c in couriers:
        for _ in range(r.randint(1, 3)):
            col = r.choice(collectors)
            t = b.when(t0 + r.random() * 4 * 1440)
            amt = thr * r.uniform(0.80, 0.995)
            b.edge(s, t, c, col, amt, fmt="Cash")
            s.notes.setdefault("deposits_usd", []).append(round(amt, 2))
            got[col] += amt
            last[col] = max(last[col], t)
    t_tr = t0
    forwarded = 0.0
    for col in collectors:  # pass-through: out within hours, balance back near zero
        t = b.when(last[col] + b.delay(180, 0.6))
        amt = got[col] * r.uniform(0.97, 0.995)
        b.edge(s, t, col, trader, amt)
        forwarded += amt
        t_tr = max(t_tr, t)
    for m in cell:
        b.edge(s, b.when(t_tr + b.delay(1440, 0.7)), trader, m, forwarded / len(cell) * b.fee())
        b.sanction(s, m, 0.5)
    b.control(s, [*couriers, *collectors, trader, *cell])
    b.control(s, cell, holding=True)
    return s


def peel_chain(b: Builder) -> Scheme:
    """Ransom paid in bitcoin, peeled off along a chain into many exchange accounts, cashed out."""
    r = b.rng
    hops = r.randint(3, 9)
    s = b.new("PEEL-CHAIN", f"ransomware payment, {hops}-hop peel chain")
    victim = b.pick("company")[0]
    ex_btc = b.pick("ex_btc", reuse=True)[0]
    ex_fiat = b.pick("ex_fiat", reuse=True)[0]
    chain = b.pick("person_btc", hops + 1)
    peels = b.pick("person_btc", hops)
    ransom = b.amount(90000.0, 1.0)
    if b.vectors and b.ransom_pool:  # the ransom address is a real ransomware-tagged address
        address, family = b.ransom_pool[b._ransom_next % len(b.ransom_pool)]
        b._ransom_next += 1
        b.w.acc_overrides[chain[0]] = address
        s.overridden_accounts.append(chain[0])
        s.notes.update({"ransom_address": address, "family": family, "tagpack": "tagpack_ransomware"})
    s.roles.update({"ransom_account": chain[0], "exchange_btc": ex_btc})
    t = b.start(6 * 1440)
    # context: the victim's first, urgent purchase of bitcoin (not laundering itself)
    b.edge(s, b.when(t), victim, ex_fiat, ransom * 1.01, fmt="Wire", label=False)
    t = b.when(t + b.delay(240, 0.5), "crypto")
    b.edge(s, t, ex_btc, chain[0], ransom, fmt="Bitcoin")
    bal = ransom
    for i in range(hops):
        t = b.when(t + b.delay(90, 1.0), "crypto")
        peel = bal * r.uniform(0.05, 0.2)
        b.edge(s, t, chain[i], peels[i], peel, fmt="Bitcoin")
        bal = (bal - peel) * 0.9995
        b.edge(s, b.when(t + r.randint(1, 20), "crypto"), chain[i], chain[i + 1], bal, fmt="Bitcoin")
        # cash-out: the peel sold at the exchange, fiat paid to the holder's bank account
        t2 = b.when(t + b.delay(600, 0.8), "crypto")
        b.edge(s, t2, peels[i], ex_btc, peel * 0.999, fmt="Bitcoin")
        holder_fiat = b.fiat_of(peels[i])
        if holder_fiat != peels[i]:
            b.edge(s, b.when(t2 + b.delay(240, 0.6)), ex_fiat, holder_fiat, peel * 0.99)
            b.control(s, [holder_fiat], holding=True)
    s.notes["ransom_usd"] = round(ransom, 2)
    b.control(s, [*chain, *peels])
    b.control(s, [chain[-1]], holding=True)
    return s


def antiquities(b: Builder) -> Scheme:
    """A dealer buys a looted object from a shell company; proceeds move on to a financier."""
    r = b.rng
    obj = r.choice(_OBJECTS)
    record: dict[str, str] | None = None
    if b.vectors and b.art_pool:  # the looted object is a record of the stolen-art register
        record = b.art_pool[b._art_next % len(b.art_pool)]
        b._art_next += 1
        obj = record["Title"]
    s = b.new("ANTIQUITIES", f"{obj}, provenance undocumented")
    dealer = b.pick("art_dealer", reuse=True)[0]
    shell = b.pick("company")[0]
    mids = b.pick(r.choice(["company", "person"]), r.randint(1, 3))
    financier = b.pick("person", countries=b.high_risk or None)[0]
    buyer = b.pick("any")[0]
    price = b.amount(120000.0, 0.8)
    t = b.start(10 * 1440, whole=True)
    s.links["purchase"] = b.edge(s, b.when(t), dealer, shell, price, fmt="Wire", rnd=r.random() < 0.6)
    t1 = b.when(t + b.delay(2 * 1440, 0.6))
    for m in mids:
        amt = price / len(mids) * b.fee()
        tm = b.when(t1 + r.random() * 600)
        b.edge(s, tm, shell, m, amt, fmt="Wire")
        b.edge(s, b.when(tm + b.delay(1440, 0.7)), m, financier, amt * b.fee())
    # context: rapid resale at a very different price
    resale = price * r.uniform(3.0, 8.0)
    s.links["resale"] = b.edge(s, b.when(t + b.delay(3 * 1440, 0.5)), buyer, dealer, resale, fmt="Wire", label=False)
    b.sanction(s, financier, 0.6)
    s.notes.update({"object": obj, "price_usd": round(price, 2), "resale_usd": round(resale, 2)})
    if record is not None:
        s.notes.update({"fbi_reference": record["Reference Number"], "fbi_row": int(record["row"])})
    s.roles.update({"dealer": dealer, "shell": shell, "buyer": buyer})
    b.control(s, [shell, *mids, financier])
    b.control(s, [financier], holding=True)
    return s


def kidnap_ransom(b: Builder) -> Scheme:
    """A ransom lands in one account and leaves within hours in many small tranches: to wallets of
    helpers, who cash out at agents, and straight to agents."""
    r, w = b.rng, b.w
    mobile = w.template.mobile_money and len(b.pool_arrays["wallet"]) > 0
    home = b.high_risk or None
    hub = b.pick("person", countries=home)[0]
    payer = b.pick(r.choice(["person", "business"]))[0]
    n_out = r.randint(8, 30)
    tranche_usd = r.uniform(250.0, 1200.0)  # under the usual wallet limits
    mules = b.pick("wallet" if mobile else "person", max(2, n_out // 3), countries=home)
    agent_pool = "mm_agent" if mobile and len(b.pool_arrays["mm_agent"]) else "mt_agent"
    agents = b.pick(agent_pool, r.randint(2, 5), countries=home, reuse=True)
    s = b.new("KIDNAP-RANSOM", f"ransom dispersed in {n_out} transfers within hours")
    ransom = n_out * tranche_usd * r.uniform(1.02, 1.1)
    t = b.when(b.start(4 * 1440))
    b.edge(s, t, payer, hub, ransom, fmt="Wire", rnd=True)
    for i in range(n_out):
        ti = t + b.delay(150, 0.8)
        amt = tranche_usd * r.uniform(0.6, 1.4)
        if i % 3 == 0:
            b.edge(s, b.when(ti, "consumer"), hub, r.choice(agents), amt, rnd=r.random() < 0.5)  # cash-out at an agent
        else:
            m = r.choice(mules)
            b.edge(s, b.when(ti, "consumer"), hub, m, amt, rnd=r.random() < 0.5)
            b.edge(s, b.when(ti + b.delay(240, 0.8), "consumer"), m, r.choice(agents), amt * r.uniform(0.9, 1.0))
    s.notes["ransom_usd"] = round(ransom, 2)
    b.control(s, [hub, *mules])
    b.control(s, [hub], holding=True)
    return s


def npo_diversion(b: Builder) -> Scheme:
    r = b.rng
    npo = b.pick("npo")[0]
    financiers = b.pick(r.choice(["company", "person"]), r.randint(1, 3))
    recipients = b.pick(r.choice(["person", "mt_agent"]), r.randint(2, 6), countries=b.high_risk or None)
    donors = b.pick("person", r.randint(3, 8), reuse=True)
    s = b.new("NPO-DIVERSION", f"{len(financiers)} large deposits, {len(recipients)} transfers to high-risk countries")
    t0 = b.start(12 * 1440)
    total = 0.0
    for d in donors:  # context: genuine small donations
        b.edge(s, b.when(t0 + r.random() * 10 * 1440, "consumer"), d, npo, b.amount(60.0, 0.8), label=False, rnd=True)
    t_last = t0
    for f in financiers:
        amt = b.amount(40000.0, 0.7)
        t = b.when(t0 + r.random() * 3 * 1440)
        b.edge(s, t, f, npo, amt, fmt="Wire", rnd=r.random() < 0.7)
        total += amt
        t_last = max(t_last, t)
    for rc in recipients:
        b.edge(s, b.when(t_last + b.delay(1440, 0.8)), npo, rc, total / len(recipients) * b.fee(), fmt="Wire")
        b.sanction(s, rc, 0.3)
    b.control(s, [npo, *financiers, *recipients])
    b.control(s, recipients, holding=True)
    return s


def cell_self_funding(b: Builder) -> Scheme:
    """Consumer loans cashed out within two weeks, then tickets, camping gear and phones, then silence."""
    r, w = b.rng, b.w
    members = b.pick("person", r.randint(2, 4))
    w.reserved.update(members)  # no background activity: the accounts go dormant after use
    lender = b.pick("lender", reuse=True)[0]
    shops = b.pick("shop", 3, reuse=True)
    agent = b.pick("mt_agent", reuse=True)[0]
    contact = b.pick("person", countries=b.high_risk or None)[0]
    s = b.new("CELL-SELF-FUNDING", f"{len(members)} members, loans cashed out within 14 days")
    t0 = b.start(16 * 1440)
    for m in members:
        # context: ordinary activity before the loan
        for _ in range(r.randint(1, 3)):
            b.edge(
                s,
                b.when(t0 - r.random() * 2 * 1440 if t0 > 3000 else t0, "consumer"),
                m,
                r.choice(shops),
                b.amount(40.0, 0.6),
                label=False,
            )
        loan = b.amount(9000.0, 0.5)
        t = b.when(t0 + r.random() * 1440)
        b.edge(s, t, lender, m, loan, fmt="ACH", rnd=True)
        left = loan
        for shop, share in zip(shops, (0.12, 0.08, 0.06), strict=True):  # tickets, equipment, phones
            amt = loan * share * r.uniform(0.7, 1.3)
            b.edge(s, b.when(t + r.random() * 10 * 1440, "consumer"), m, shop, amt, fmt="Credit Card")
            left -= amt
        cash = left * r.uniform(0.4, 0.7)
        b.edge(s, b.when(t + r.random() * 13 * 1440, "consumer"), m, agent, cash, fmt="Cash", rnd=True)
    b.edge(s, b.when(t0 + 14 * 1440), agent, contact, b.amount(2500.0, 0.5), fmt="Wire")
    b.sanction(s, contact, 0.5)
    for m in members:
        b.sanction(s, m, 0.2)
    s.notes["dormant_after"] = True
    b.control(s, [*members, contact])
    b.control(s, [contact], holding=True)
    return s


def crowdfunding(b: Builder) -> Scheme:
    """Donations into many wallets whose holders share one phone; layered to a collector; cashed out."""
    r, w = b.rng, b.w
    mobile = w.template.mobile_money and len(b.pool_arrays["wallet"]) > 0
    pool = "wallet" if mobile else "person"
    wallets = b.pick(pool, r.randint(3, 8))
    collector = b.pick(pool)[0]
    exit_ = b.pick("mm_agent" if mobile and len(b.pool_arrays["mm_agent"]) else "mt_agent", reuse=True)[0]
    donors = b.pick(pool, r.randint(10, 30), reuse=True)
    code = w.template.countries[int(b.acc_country[wallets[0]])].phone_prefix
    phone = f"{code} {r.randrange(10**8):08d}"
    email = f"appeal{r.randrange(1000, 9999)}@mail.example"
    s = b.new("CROWDFUNDING", f"{len(donors)} donors into {len(wallets)} wallets sharing one phone")
    for a in wallets:
        e = int(w.acc_entity[a])
        w.overrides.setdefault(e, {}).update({"phone": phone, "email": email})
        s.overridden.append((e, ("phone", "email")))
    s.notes.update({"shared_phone": phone, "shared_email": email})
    t0 = b.start(8 * 1440)
    got = dict.fromkeys(wallets, 0.0)
    for d in donors:
        wa = r.choice(wallets)
        amt = b.amount(45.0, 0.8)
        b.edge(s, b.when(t0 + r.random() * 4 * 1440, "consumer"), d, wa, amt, rnd=r.random() < 0.6)
        got[wa] += amt
    t1 = t0 + 4 * 1440
    total = 0.0
    for wa in wallets:
        if got[wa] <= 0:
            continue
        amt = got[wa] * r.uniform(0.9, 0.99)
        b.edge(s, b.when(t1 + b.delay(600), "consumer"), wa, collector, amt)
        total += amt
    b.edge(s, b.when(t1 + 2 * 1440, "consumer"), collector, exit_, total * 0.98)
    b.sanction(s, collector, 0.5)
    b.control(s, [*wallets, collector])
    b.control(s, [collector], holding=True)
    return s


BUILDERS: dict[str, Callable[[Builder], Scheme]] = {
    "FAN-OUT": fan_out,
    "FAN-IN": fan_in,
    "CYCLE": cycle,
    "SCATTER-GATHER": scatter_gather,
    "GATHER-SCATTER": gather_scatter,
    "STACK": stack,
    "BIPARTITE": bipartite,
    "RANDOM": random_walk,
    "STRUCTURING": structuring,
    "PEEL-CHAIN": peel_chain,
    "ANTIQUITIES": antiquities,
    "KIDNAP-RANSOM": kidnap_ransom,
    "NPO-DIVERSION": npo_diversion,
    "CELL-SELF-FUNDING": cell_self_funding,
    "CROWDFUNDING": crowdfunding,
}


#: schemes a vector world starts with
VECTOR_FIRST = ("ANTIQUITIES", "PEEL-CHAIN", "STRUCTURING")


#: integration payments: laundered funds are spent a log-normal delay after the parent scheme's last
#: row (median 3 days; 90% within about 11 days)
INTEGRATION_DELAY_MEDIAN_MIN = 3 * 1440.0
INTEGRATION_DELAY_SIGMA = 1.0


def add_schemes(b: Builder, illicit_rows: int, untyped_share: float) -> None:
    """Typed schemes until their labelled rows inside the period reach ``(1 - untyped_share)`` of
    ``illicit_rows`` (every typology once first), then untyped integration payments for the rest.

    Scheme starts are uniform over the whole period and integration payments follow their parent
    scheme after a log-normal delay, so the typed/untyped mix stays roughly stationary over time
    (as in AMLworld); rows past the world's end are dropped (:meth:`Builder.compact`)."""
    r = b.rng
    tpl = b.w.template
    if tpl.criminal_accounts > 0 and not b.vectors:
        b.make_criminals(max(4, round(illicit_rows * tpl.criminal_accounts)), tpl.criminal_activity)
    typed_budget = round(illicit_rows * (1.0 - untyped_share))
    weights = {k: v for k, v in b.w.template.schemes.items() if v > 0}
    first = list(weights)
    r.shuffle(first)
    labelled = 0
    if b.vectors:
        # a vector world always holds one scheme of each vector (art, cyber, drugs through a trading
        # company), whatever its size: the vector files (art offers, trade, crypto tags) tell their story
        b.whole = True
        for kind in VECTOR_FIRST:
            b.begin()
            s = structuring(b, via="importer") if kind == "STRUCTURING" else BUILDERS[kind](b)
            labelled += b.inside(s)
            if kind in first:
                first.remove(kind)
        b.whole = False
    # a vector world's forced schemes take budget first: let the every-typology-once round run on
    # to 4/5 of the illicit rows
    stretch = round(illicit_rows * 0.8) if b.vectors else typed_budget
    tries: dict[str, int] = {}
    while labelled < typed_budget or (first and labelled < stretch):
        once = bool(first)
        kind = first.pop() if first else r.choices(list(weights), weights=list(weights.values()))[0]
        b.whole = once and tries.get(kind, 0) >= 5  # after 5 schemes wholly outside the period
        b.begin()
        b.aml = kind in AML_TYPES
        s = BUILDERS[kind](b)
        b.aml = False
        got = b.inside(s)
        labelled += got
        if once and not got:  # the every-typology-once round: this one fell outside the period, again
            tries[kind] = tries.get(kind, 0) + 1
            first.append(kind)
    b.whole = False
    typed = [s for s in b.schemes if s.edges]
    untyped_budget = illicit_rows - labelled
    if b.vectors:  # at least a fifth of illicit rows stays untyped
        untyped_budget = max(untyped_budget, -(-labelled // 4))
    if typed and untyped_budget > 0:
        _integration(b, typed, untyped_budget)
    b.compact()


def _integration(b: Builder, typed: list[Scheme], budget: int) -> None:
    """``budget`` integration payments (laundered funds spent from holding accounts, in no pattern)
    inside the period; a payment whose delay takes it past the world's end is redrawn."""
    r = b.rng
    sizes = [len(s.edges) for s in typed]
    ends = [max(b.t[i] for i in s.edges) for s in typed]
    by_parent: dict[str, Scheme] = {}
    made = 0
    for _ in range(50 * budget):
        if made == budget:
            break
        k = r.choices(range(len(typed)), weights=sizes)[0]
        t = ends[k] + 60 + b.delay(INTEGRATION_DELAY_MEDIAN_MIN, INTEGRATION_DELAY_SIGMA)
        if not 0 <= t < b.T:
            continue
        parent = typed[k]
        holders = [a for a in parent.holding if not b.w.acc_btc[a] and not b.w.acc_wallet[a]] or parent.holding
        src = r.choice(holders)
        b.home = int(b.acc_country[src])  # spent where the money sits
        to_crim = b.w.template.integration_to_criminal
        b.taken = set()
        crim = b.criminal(1, exclude=(src,)) if len(b.criminals) > 1 and r.random() < to_crim else []
        dst = crim[0] if crim else b.pick(r.choice(["business", "business", "person"]), reuse=True)[0]
        t = b.when(t)
        if t >= b.T:
            continue
        if parent.id not in by_parent:
            by_parent[parent.id] = b.new("INTEGRATION", typed=False, parent=parent.id)
        u = by_parent[parent.id]
        b.aml = bool(b.launder_formats)
        b.edge(u, t, src, dst, b.amount(1500.0, 1.2), rnd=r.random() < 0.3)
        b.aml = False
        b.control(u, [src])
        made += 1
