"""Legitimate background activity, generated column-wise.

Flows come from relationship pools (each person has favourite shops and contacts, each business
its suppliers), sampled with heavy-tailed weights so that a few accounts are very busy and most are
quiet. Recurring payments (salaries, rent, utilities, allowances) repeat on their period; payroll
runs pay a whole staff on one day (a legitimate fan-out), popular shops collect from many customers
(a legitimate fan-in), groups sweep cash between their own accounts, importers settle abroad in
other currencies, and agents cash in and out for many wallets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from filiere.scenario.world import FORMATS, KINDS, K, World

F = {f: i for i, f in enumerate(FORMATS)}

#: hourly activity profiles (relative weights, 24 values)
_H_BUSINESS = np.array(
    [1, 0.5, 0.4, 0.3, 0.3, 0.6, 2, 5, 9, 12, 12, 11, 9, 10, 11, 11, 10, 8, 5, 3, 2, 1.5, 1.2, 1], float
)
_H_CONSUMER = np.array(
    [1.5, 0.8, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 5, 7, 8, 9, 10, 9, 8, 8, 9, 10, 11, 10, 8, 6, 4, 2.5], float
)
_H_CRYPTO = np.array([6, 5, 5, 5, 5, 5, 6, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 7], float)
_H_BATCH = np.array([10, 8, 6, 5, 4, 4, 5, 6, 6, 5, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 6], float)
#: weekday weights, Monday first
_W_BUSINESS = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 0.35, 0.15])
_W_CONSUMER = np.array([0.9, 0.9, 0.95, 1.0, 1.15, 1.25, 0.7])
_W_FLAT = np.ones(7)

PROFILES = {
    "business": (_H_BUSINESS, _W_BUSINESS),
    "consumer": (_H_CONSUMER, _W_CONSUMER),
    "crypto": (_H_CRYPTO, _W_FLAT),
    "batch": (_H_BATCH, _W_BUSINESS),
}


def hour_weights(profile: str) -> np.ndarray:
    return np.asarray(PROFILES[profile][0] / PROFILES[profile][0].sum())


def sample_times(world: World, n: int, profile: str, rng: np.random.Generator, month_end: float = 0.0) -> np.ndarray:
    """Minutes since the world's start, following a daily and weekly rhythm (and a month-end peak)."""
    hours, week = PROFILES[profile]
    dow0 = world.start.weekday()
    day_w = week[(dow0 + np.arange(world.days)) % 7].copy()
    if month_end:
        dom = (np.datetime64(world.start.isoformat()) + np.arange(world.days).astype("timedelta64[D]")).astype(object)
        last = np.array([d.day >= 26 or d.day <= 2 for d in dom])
        day_w *= np.where(last, 1.0 + month_end, 1.0)
    cells = (day_w[:, None] * hours[None, :]).ravel()
    cum = np.cumsum(cells)
    cell = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    cell = np.minimum(cell, len(cells) - 1)
    return np.asarray(cell.astype(np.int64) * 60 + rng.integers(0, 60, n))


def _choice(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(weights)
    return np.asarray(np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(weights) - 1))


#: format mixes per relationship class (probabilities over FORMATS)
def _mix(**kw: float) -> np.ndarray:
    v = np.zeros(len(FORMATS))
    for k, p in kw.items():
        v[F[k.replace("_", " ")]] = p
    return np.asarray(v / v.sum())


MIXES = {
    "purchase": _mix(Credit_Card=0.5, ACH=0.15, Cash=0.15, Cheque=0.07, Wire=0.03),
    "payout": _mix(ACH=0.6, Wire=0.25, Cheque=0.15),
    "b2b": _mix(Wire=0.45, ACH=0.4, Cheque=0.15),
    "p2p": _mix(ACH=0.45, Wire=0.2, Cheque=0.1, Cash=0.25),
    "abroad": _mix(Wire=0.85, ACH=0.15),
    "btc": _mix(Bitcoin=1.0),
    "mobile": _mix(Mobile_Money=1.0),
}
_CLASS = list(MIXES)


def formats_for(world: World, src: np.ndarray, dst: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The usual payment format between two accounts, drawn from the class of the pair."""
    kind = world.ent_kind
    sp = kind[world.acc_entity[src]] == K["person"]
    dp = kind[world.acc_entity[dst]] == K["person"]
    cls = np.where(
        sp & dp,
        _CLASS.index("p2p"),
        np.where(sp, _CLASS.index("purchase"), np.where(dp, _CLASS.index("payout"), _CLASS.index("b2b"))),
    )
    abroad = world.bank_country[world.acc_bank[src]] != world.bank_country[world.acc_bank[dst]]
    cls = np.where(abroad, _CLASS.index("abroad"), cls)
    cls = np.where(world.acc_wallet[src] | world.acc_wallet[dst], _CLASS.index("mobile"), cls)
    cls = np.where(world.acc_btc[src] | world.acc_btc[dst], _CLASS.index("btc"), cls)
    cum = np.cumsum(np.stack([MIXES[c] for c in _CLASS]), axis=1)
    u = rng.random(len(src))
    fmt = (u[:, None] > cum[cls]).sum(axis=1)
    return np.asarray(np.minimum(fmt, len(FORMATS) - 1).astype(np.int8))


@dataclass
class Flows:
    """Rows of transactions as columns; amounts in US dollars until converted."""

    t: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    usd: np.ndarray
    fmt: np.ndarray
    round_amount: np.ndarray

    @staticmethod
    def concat(parts: list[Flows]) -> Flows:
        return Flows(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in ("t", "src", "dst", "usd", "fmt", "round_amount"))
        )

    def __len__(self) -> int:
        return len(self.t)


def _flows(
    t: np.ndarray, src: np.ndarray, dst: np.ndarray, usd: np.ndarray, fmt: np.ndarray, rnd: bool | np.ndarray = False
) -> Flows:
    n = len(t)
    r = np.full(n, rnd, dtype=bool) if isinstance(rnd, bool) else rnd
    return Flows(
        t.astype(np.int64), src.astype(np.int32), dst.astype(np.int32), usd.astype(np.float64), fmt.astype(np.int8), r
    )


class Background:
    def __init__(self, world: World, rng: np.random.Generator) -> None:
        self.w = world
        self.rng = rng
        w = world
        usable = np.ones(w.n_accounts, dtype=bool)
        if w.reserved:
            usable[np.fromiter(w.reserved, dtype=np.int64)] = False
        kind = w.acc_kind
        fiat = usable & ~w.acc_wallet & ~w.acc_btc
        self.fiat = fiat
        self.person_fiat = np.flatnonzero(fiat & (kind == K["person"]))
        self.person_wallet = np.flatnonzero(usable & w.acc_wallet & (kind == K["person"]))
        self.person_btc = np.flatnonzero(usable & w.acc_btc & (kind == K["person"]))
        self.merchants = np.flatnonzero(fiat & np.isin(kind, [K["shop"], K["pharmacy"], K["company"], K["art_dealer"]]))
        self.business = np.flatnonzero(
            fiat & np.isin(kind, [K["company"], K["shop"], K["pharmacy"], K["importer"], K["art_dealer"]])
        )
        self.employers = np.flatnonzero(
            fiat
            & np.isin(
                kind, [K["company"], K["shop"], K["pharmacy"], K["importer"], K["npo"], K["utility"], K["lender"]]
            )
        )
        self.utilities = np.flatnonzero(fiat & (kind == K["utility"]))
        self.agents_fiat = np.flatnonzero(fiat & np.isin(kind, [K["mt_agent"], K["mm_agent"]]))
        self.mt_fiat = np.flatnonzero(fiat & (kind == K["mt_agent"]))
        self.agent_wallets = np.flatnonzero(usable & w.acc_wallet & (kind == K["mm_agent"]))
        self.shop_wallets = np.flatnonzero(usable & w.acc_wallet & np.isin(kind, [K["shop"], K["pharmacy"]]))
        self.ex_btc = np.flatnonzero(usable & w.acc_btc & (kind == K["exchange"]))
        self.ex_fiat = np.flatnonzero(fiat & (kind == K["exchange"]))
        self.npo = np.flatnonzero(fiat & (kind == K["npo"]))
        self.acc_country = w.bank_country[w.acc_bank]

    # ---- helpers
    def _heavy(self, m: int, median: float, sigma: float, big_share: float, big_median: float) -> np.ndarray:
        """Mostly small amounts, with a share of larger ones (traders, families, up to wallet limits)."""
        rng = self.rng
        big = rng.random(m) < big_share
        return np.where(big, rng.lognormal(np.log(big_median), 0.7, m), rng.lognormal(np.log(median), sigma, m))

    def _partners(self, src: np.ndarray, dst_pool: np.ndarray, dst_w: np.ndarray, same_p: float) -> np.ndarray:
        """A partner in ``dst_pool`` for each source: same country with probability ``same_p``."""
        rng = self.rng
        if len(dst_pool) == 0:
            return src.copy()
        dc = self.acc_country[dst_pool]
        order = np.argsort(dc, kind="stable")
        pool = dst_pool[order]
        cum = np.cumsum(dst_w[order])
        n_c = len(self.w.countries)
        starts = np.searchsorted(dc[order], np.arange(n_c), side="left")
        ends = np.searchsorted(dc[order], np.arange(n_c), side="right")
        lo = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
        hi = np.where(ends > 0, cum[np.maximum(ends - 1, 0)], 0.0)
        sc = self.acc_country[src]
        same = (rng.random(len(src)) < same_p) & (hi[sc] > lo[sc])
        u = rng.random(len(src))
        target = np.where(same, lo[sc] + u * (hi[sc] - lo[sc]), u * cum[-1])
        idx = np.minimum(np.searchsorted(cum, target, side="right"), len(pool) - 1)
        return np.asarray(pool[idx])

    def _pair_flows(
        self, n: int, src_pool: np.ndarray, dst_pool: np.ndarray, k: int, same_p: float, dst_zipf: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (src, dst) draws from favourite-partner pools (repeat payees)."""
        rng = self.rng
        if n <= 0 or len(src_pool) == 0 or len(dst_pool) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        popularity = self.w.acc_activity[dst_pool] ** dst_zipf
        ps = np.repeat(src_pool, k)
        pd = self._partners(ps, dst_pool, popularity, same_p)
        keep = ps != pd
        ps, pd = ps[keep], pd[keep]
        pw = self.w.acc_activity[ps] * rng.pareto(1.5, len(ps))
        idx = _choice(rng, pw, n)
        return ps[idx], pd[idx]

    # ---- flow classes
    def build(self, n: int) -> Flows:
        w, rng = self.w, self.rng
        shares = dict(w.template.flows)
        parts: list[Flows] = []
        rec = self.recurring(int(n * shares.pop("recurring", 0.0)))
        parts.append(rec)
        left = n - len(rec)
        total = sum(shares.values())
        names = sorted(shares)
        counts = {k: int(left * shares[k] / total) for k in names}
        counts[names[0]] += left - sum(counts.values())
        for k in names:
            parts.append(getattr(self, k)(counts[k]))
        out = Flows.concat(parts)
        # a flow class may come up short (tiny worlds): top up with person-to-person payments
        while len(out) < n:
            out = Flows.concat([out, self.p2p(n - len(out)), self.reinvestment(n - len(out))])
        if len(out) > n:
            keep = np.sort(rng.permutation(len(out))[:n])
            out = Flows(*(getattr(out, f)[keep] for f in ("t", "src", "dst", "usd", "fmt", "round_amount")))
        return out

    def purchase(self, n: int) -> Flows:
        rng = self.rng
        payers = self.person_fiat
        s, d = self._pair_flows(n, payers, self.merchants, 4, 0.93, 1.3)
        m = len(s)
        kind = self.w.acc_kind[d]
        scale = np.select([kind == K["pharmacy"], kind == K["art_dealer"], kind == K["company"]], [0.6, 25.0, 3.0], 1.0)
        usd = rng.lognormal(np.log(45.0), 1.0, m) * scale
        fmt = formats_for(self.w, s, d, rng)
        return _flows(sample_times(self.w, m, "consumer", rng), s, d, usd, fmt)

    def b2b(self, n: int) -> Flows:
        rng = self.rng
        s, d = self._pair_flows(n, self.business, self.business, 5, 0.75, 1.0)
        m = len(s)
        imp = self.w.acc_kind[s] == K["importer"]
        usd = rng.lognormal(np.log(2500.0), 1.4, m) * np.where(imp, 4.0, 1.0)
        return _flows(
            sample_times(self.w, m, "business", rng, month_end=1.5),
            s,
            d,
            usd,
            formats_for(self.w, s, d, rng),
            rng.random(m) < 0.25,
        )

    def p2p(self, n: int) -> Flows:
        rng = self.rng
        s, d = self._pair_flows(n, self.person_fiat, self.person_fiat, 3, 0.88, 0.3)
        m = len(s)
        usd = rng.lognormal(np.log(120.0), 1.2, m)
        return _flows(
            sample_times(self.w, m, "consumer", rng), s, d, usd, formats_for(self.w, s, d, rng), rng.random(m) < 0.4
        )

    def reinvestment(self, n: int) -> Flows:
        rng = self.rng
        pool = np.flatnonzero(self.fiat)
        if n <= 0 or len(pool) == 0:
            return _flows(*(np.zeros(0),) * 5)
        a = pool[_choice(rng, self.w.acc_activity[pool], n)]
        usd = rng.lognormal(np.log(900.0), 1.6, n)
        return _flows(sample_times(self.w, n, "batch", rng), a, a, usd, np.full(n, F["Reinvestment"]))

    def sweep(self, n: int) -> Flows:
        """Intra-group cash sweeps between an organisation's own accounts."""
        rng = self.rng
        w = self.w
        org = self.fiat & (w.acc_kind != K["person"])
        first = w.ent_first_acc[w.acc_entity]
        pool = np.flatnonzero(org & (first != np.arange(w.n_accounts)) & self.fiat[first])
        if n <= 0 or len(pool) == 0:
            return _flows(*(np.zeros(0),) * 5)
        a = pool[_choice(rng, w.acc_activity[pool] ** 0.5, n)]
        b = first[a]
        flip = rng.random(n) < 0.4
        s, d = np.where(flip, b, a), np.where(flip, a, b)
        usd = rng.lognormal(np.log(8000.0), 1.3, n)
        t = sample_times(w, n, "business", rng)
        t = (t // 1440) * 1440 + 17 * 60 + rng.integers(0, 120, n)  # end-of-day sweeps
        return _flows(t, s, d, usd, formats_for(w, s, d, rng), rng.random(n) < 0.5)

    def crypto(self, n: int) -> Flows:
        rng = self.rng
        parts = []
        nb = n // 2
        s, d = self._pair_flows(nb, self.person_btc, self.ex_btc, 2, 0.0, 1.0)
        flip = rng.random(len(s)) < 0.5
        s, d = np.where(flip, d, s), np.where(flip, s, d)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "crypto", rng),
                s,
                d,
                rng.lognormal(np.log(400.0), 1.5, len(s)),
                np.full(len(s), F["Bitcoin"]),
            )
        )
        s, d = self._pair_flows(n - nb, self.person_fiat, self.ex_fiat, 1, 0.0, 1.0)
        flip = rng.random(len(s)) < 0.35
        s, d = np.where(flip, d, s), np.where(flip, s, d)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "consumer", rng),
                s,
                d,
                rng.lognormal(np.log(500.0), 1.4, len(s)),
                formats_for(self.w, s, d, rng),
                rng.random(len(s)) < 0.5,
            )
        )
        return Flows.concat(parts)

    def remittance(self, n: int) -> Flows:
        """Cash handed to money-transfer agents, paid out abroad; agents settle among themselves."""
        rng = self.rng
        n1 = n // 2
        n3 = n // 8
        n2 = n - n1 - n3
        s1, d1 = self._pair_flows(n1, self.person_fiat, self.mt_fiat, 1, 0.97, 1.0)
        f1 = np.where(rng.random(len(s1)) < 0.6, F["Cash"], F["ACH"])
        s2, d2 = self._pair_flows(n2, self.mt_fiat, self.person_fiat, 40, 0.3, 0.2)
        s3, d3 = self._pair_flows(n3, self.mt_fiat, self.mt_fiat, 3, 0.2, 1.0)
        return Flows.concat(
            [
                _flows(
                    sample_times(self.w, len(s1), "consumer", rng),
                    s1,
                    d1,
                    rng.lognormal(np.log(250.0), 1.0, len(s1)),
                    f1,
                    rng.random(len(s1)) < 0.6,
                ),
                _flows(
                    sample_times(self.w, len(s2), "business", rng),
                    s2,
                    d2,
                    rng.lognormal(np.log(250.0), 1.0, len(s2)),
                    formats_for(self.w, s2, d2, rng),
                ),
                _flows(
                    sample_times(self.w, len(s3), "business", rng),
                    s3,
                    d3,
                    rng.lognormal(np.log(9000.0), 1.2, len(s3)),
                    np.full(len(s3), F["Wire"]),
                    True,
                ),
            ]
        )

    def cash(self, n: int) -> Flows:
        """Cash paid in: shop takings to suppliers, people paying agents; some near reporting thresholds."""
        rng = self.rng
        s, d = self._pair_flows(
            n,
            np.concatenate([self.person_fiat, self.business]),
            np.concatenate([self.business, self.agents_fiat]),
            2,
            0.95,
            1.0,
        )
        m = len(s)
        big = rng.random(m) < 0.12
        usd = np.where(big, rng.lognormal(np.log(4500.0), 0.7, m), rng.lognormal(np.log(180.0), 1.1, m))
        return _flows(sample_times(self.w, m, "business", rng), s, d, usd, np.full(m, F["Cash"]), rng.random(m) < 0.5)

    def mobile(self, n: int) -> Flows:
        """Wallet to wallet, cash-in and cash-out at agents, payments to shops' wallets."""
        rng = self.rng
        if len(self.person_wallet) == 0:
            return self.p2p(n)
        n_in = n // 4
        n_out = n // 4
        n_shop = n // 6
        n_p2p = n - n_in - n_out - n_shop
        parts = []
        s, d = self._pair_flows(n_p2p, self.person_wallet, self.person_wallet, 4, 0.9, 0.3)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "consumer", rng),
                s,
                d,
                self._heavy(len(s), 20.0, 1.2, 0.06, 450.0),
                np.full(len(s), F["Mobile Money"]),
                rng.random(len(s)) < 0.5,
            )
        )
        s, d = self._pair_flows(n_in, self.agent_wallets, self.person_wallet, 60, 0.99, 0.2)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "consumer", rng),
                s,
                d,
                self._heavy(len(s), 30.0, 1.0, 0.04, 400.0),
                np.full(len(s), F["Mobile Money"]),
                rng.random(len(s)) < 0.6,
            )
        )
        s, d = self._pair_flows(n_out, self.person_wallet, self.agent_wallets, 2, 0.99, 1.0)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "consumer", rng),
                s,
                d,
                self._heavy(len(s), 35.0, 1.1, 0.05, 500.0),
                np.full(len(s), F["Mobile Money"]),
                rng.random(len(s)) < 0.6,
            )
        )
        s, d = self._pair_flows(n_shop, self.person_wallet, self.shop_wallets, 3, 0.97, 1.2)
        parts.append(
            _flows(
                sample_times(self.w, len(s), "consumer", rng),
                s,
                d,
                rng.lognormal(np.log(12.0), 1.0, len(s)),
                np.full(len(s), F["Mobile Money"]),
            )
        )
        return Flows.concat(parts)

    def recurring(self, n: int) -> Flows:
        """Salaries (payroll runs), rent, utilities and weekly allowances, repeating on their period."""
        rng = self.rng
        w = self.w
        if n <= 0 or len(self.person_fiat) == 0 or len(self.employers) == 0:
            return _flows(*(np.zeros(0),) * 5)
        days = w.days
        # relation types: (share of rows, period in days)
        n_sal, n_rent, n_util, n_allow = int(n * 0.35), int(n * 0.2), int(n * 0.2), 0
        n_allow = n - n_sal - n_rent - n_util
        parts = []

        # salaries: employees of one employer are paid on the same day, monthly or every two weeks
        n_rel = max(1, int(n_sal / max(1.0, days / 30.0)))
        employees = self.person_fiat[_choice(rng, np.ones(len(self.person_fiat)), n_rel)]
        emp_w = w.acc_activity[self.employers] ** 1.3
        employer = self.employers[_choice(rng, emp_w, n_rel)]
        emp64 = employer.astype(np.int64)
        biweekly = (emp64 * 40503 + w.seed) % 5 == 0
        pay_day = (emp64 * 2654435761 + w.seed) % 28  # one pay day per employer
        period = np.where(biweekly, 14, 30)
        salary = rng.lognormal(np.log(2200.0 if w.template.name != "sahel" else 250.0), 0.5, n_rel)
        parts.append(self._expand(employer, employees, pay_day % period, period, salary, "batch", key=employer))
        # rent: person to landlord (person or company), early in the month
        n_rel = max(1, int(n_rent / max(1.0, days / 30.0)))
        tenants = self.person_fiat[_choice(rng, np.ones(len(self.person_fiat)), n_rel)]
        landlords = self._partners(
            tenants,
            np.concatenate([self.person_fiat, self.business]),
            np.ones(len(self.person_fiat) + len(self.business)),
            0.98,
        )
        rent = rng.lognormal(np.log(900.0 if w.template.name != "sahel" else 90.0), 0.5, n_rel)
        parts.append(self._expand(tenants, landlords, rng.integers(0, 5, n_rel), np.full(n_rel, 30), rent, "consumer"))
        # utilities
        if len(self.utilities):
            n_rel = max(1, int(n_util / max(1.0, days / 30.0)))
            payers = self.person_fiat[_choice(rng, np.ones(len(self.person_fiat)), n_rel)]
            utils = self._partners(payers, self.utilities, np.ones(len(self.utilities)), 0.99)
            bill = rng.lognormal(np.log(80.0 if w.template.name != "sahel" else 15.0), 0.6, n_rel)
            parts.append(self._expand(payers, utils, rng.integers(0, 30, n_rel), np.full(n_rel, 30), bill, "batch"))
        # weekly allowances within families
        n_rel = max(1, int(n_allow / max(1.0, days / 7.0)))
        givers = self.person_fiat[_choice(rng, w.acc_activity[self.person_fiat], n_rel)]
        takers = self._partners(givers, self.person_fiat, np.ones(len(self.person_fiat)), 0.8)
        allowance = rng.lognormal(np.log(60.0), 0.7, n_rel)
        parts.append(self._expand(givers, takers, rng.integers(0, 7, n_rel), np.full(n_rel, 7), allowance, "consumer"))
        return Flows.concat(parts)

    def _expand(
        self,
        src: np.ndarray,
        dst: np.ndarray,
        phase: np.ndarray,
        period: np.ndarray,
        usd: np.ndarray,
        profile: str,
        key: np.ndarray | None = None,
    ) -> Flows:
        rng = self.rng
        days = self.w.days
        phase = np.minimum(phase, period - 1)
        n_occ = np.maximum(0, (days - phase + period - 1) // period)
        idx = np.repeat(np.arange(len(src)), n_occ)
        k = np.arange(len(idx)) - np.repeat(np.cumsum(n_occ) - n_occ, n_occ)
        day = phase[idx] + k * period[idx]
        keep = day < days
        idx, day = idx[keep], day[keep]
        hw = hour_weights(profile)
        if key is not None:  # one hour per key (a payroll run)
            uniq, inv = np.unique(key, return_inverse=True)
            hour = _choice(rng, hw, len(uniq))[inv][idx]
        else:
            hour = _choice(rng, hw, len(idx))
        t = day * 1440 + hour * 60 + rng.integers(0, 60, len(idx))
        s, d = src[idx], dst[idx]
        amount = usd[idx] * rng.lognormal(0.0, 0.02, len(idx))
        return _flows(t, s, d, amount, formats_for(self.w, s, d, rng), np.ones(len(idx), bool))


__all__ = ["KINDS", "Background", "Flows", "formats_for", "sample_times"]
