"""Causal window aggregates of many rules at once: one scan, one sort, compiled sliding windows.

The SQL form of a rule (``agg(x) OVER (PARTITION BY gk ORDER BY ts RANGE BETWEEN w PRECEDING AND
CURRENT ROW)`` over the events passing ``when``) makes DuckDB sort the events and build a segment
tree per rule and aggregate. Here the rules that share a grouping share one scan of the events (their
``when`` masks, aggregate filters and arguments as columns), one ``(gk, ts)`` sort, and each
aggregate is one pass of a two-pointer sliding window compiled with numba: ``count``, ``sum``,
``avg``, ``min``, ``max`` (with ``FILTER``) and ``count(DISTINCT x)``. The frame is the SQL one:
events of the same group in ``[ts - w, ts]``, peers at the same time included.

Sums are Neumaier-compensated (adding at the right edge, subtracting at the left), so they agree with
DuckDB's to the last bits or so; a threshold exactly on a sum can in principle differ by rounding.
An aggregate outside that list (``stddev_pop``, ``sum(DISTINCT …)``, an expression around the call)
is not planned here: its rule runs as SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from filiere.rules.spec import AGGREGATES, Rule, render, resolved_params, tokenize

#: aggregate kinds of the kernel
COUNT, SUM, MIN, MAX, AVG = 0, 1, 2, 3, 4
_KIND = {"count": COUNT, "sum": SUM, "min": MIN, "max": MAX, "avg": AVG}


@dataclass(frozen=True, slots=True)
class AggPlan:
    name: str
    kind: int
    distinct: bool
    #: SQL of the argument (``None`` for ``count(*)``)
    arg_sql: str | None
    #: SQL of the ``FILTER (WHERE …)`` condition (``None`` when there is none)
    filter_sql: str | None


def plan_aggregates(rule: Rule, columns: frozenset[str], global_params: dict[str, Any]) -> list[AggPlan] | None:
    """The rule's aggregates as kernel plans, or ``None`` when one of them is not of a planned form."""
    params = resolved_params(rule, global_params)
    where = rule.source or rule.id
    plans: list[AggPlan] = []
    for name, expr in rule.aggregates.items():
        if name in columns:
            return None
        toks = tokenize(expr, f"{where}: aggregates.{name}")
        if len(toks) < 3 or toks[0].kind != "ident" or toks[1].text != "(":
            return None
        fn = toks[0].text.lower()
        if fn not in _KIND or fn not in AGGREGATES:
            return None
        depth, close = 0, -1
        for k in range(1, len(toks)):
            if toks[k].text == "(":
                depth += 1
            elif toks[k].text == ")":
                depth -= 1
                if depth == 0:
                    close = k
                    break
        if close < 0:
            return None
        inner = toks[2:close]
        distinct = bool(inner) and inner[0].text.lower() == "distinct"
        if distinct:
            inner = inner[1:]
        if distinct and fn != "count":
            return None
        rest = toks[close + 1 :]
        filter_sql: str | None = None
        if rest:
            ok = (
                len(rest) >= 5
                and rest[0].text.lower() == "filter"
                and rest[1].text == "("
                and rest[2].text.lower() == "where"
                and rest[-1].text == ")"
            )
            if not ok:
                return None
            body = " ".join(t.text for t in rest[3:-1])
            filter_sql, _ = render(body, where=f"{where}: aggregates.{name}", columns=columns, params=params)
        if len(inner) == 1 and inner[0].text == "*":
            if fn != "count" or distinct:
                return None
            arg_sql = None
        elif not inner:
            return None
        else:
            arg_sql, _ = render(
                " ".join(t.text for t in inner), where=f"{where}: aggregates.{name}", columns=columns, params=params
            )
        plans.append(AggPlan(name, _KIND[fn], distinct, arg_sql, filter_sql))
    return plans


def _kernels() -> tuple[Any, Any]:
    from numba import njit

    @njit(cache=True, nogil=True)  # type: ignore[misc]
    def window_agg(
        part: np.ndarray, ts: np.ndarray, vals: np.ndarray, valid: np.ndarray, w: int, kind: int
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
        n = len(ts)
        out = np.zeros(n, np.float64)
        ok = np.zeros(n, np.bool_)
        dq = np.empty(n, np.int64)
        i = 0
        while i < n:
            e = i
            while e < n and part[e] == part[i]:
                e += 1
            lo = i
            hi = i
            cnt = 0
            s = 0.0
            c = 0.0
            qh = 0
            qt = 0
            for r in range(i, e):
                t = ts[r]
                while hi < e and ts[hi] <= t:
                    if valid[hi]:
                        x = vals[hi]
                        cnt += 1
                        if kind == 1 or kind == 4:
                            y = s + x
                            if abs(s) >= abs(x):
                                c += (s - y) + x
                            else:
                                c += (x - y) + s
                            s = y
                        elif kind == 3:
                            while qt > qh and vals[dq[qt - 1]] <= x:
                                qt -= 1
                            dq[qt] = hi
                            qt += 1
                        elif kind == 2:
                            while qt > qh and vals[dq[qt - 1]] >= x:
                                qt -= 1
                            dq[qt] = hi
                            qt += 1
                    hi += 1
                while ts[lo] < t - w:
                    if valid[lo]:
                        cnt -= 1
                        if kind == 1 or kind == 4:
                            x = -vals[lo]
                            y = s + x
                            if abs(s) >= abs(x):
                                c += (s - y) + x
                            else:
                                c += (x - y) + s
                            s = y
                    lo += 1
                if cnt == 0:
                    s = 0.0
                    c = 0.0
                if kind == 0:
                    out[r] = cnt
                    ok[r] = True
                elif cnt > 0:
                    ok[r] = True
                    if kind == 1:
                        out[r] = s + c
                    elif kind == 4:
                        out[r] = (s + c) / cnt
                    else:
                        while dq[qh] < lo:
                            qh += 1
                        out[r] = vals[dq[qh]]
            i = e
        return out, ok

    @njit(cache=True, nogil=True)  # type: ignore[misc]
    def window_distinct(
        part: np.ndarray, ts: np.ndarray, codes: np.ndarray, n_codes: int, w: int
    ) -> np.ndarray:  # pragma: no cover - compiled
        n = len(ts)
        out = np.zeros(n, np.int64)
        seen = np.zeros(n_codes + 1, np.int64)
        i = 0
        while i < n:
            e = i
            while e < n and part[e] == part[i]:
                e += 1
            lo = i
            hi = i
            d = 0
            for r in range(i, e):
                t = ts[r]
                while hi < e and ts[hi] <= t:
                    k = codes[hi]
                    if k >= 0:
                        seen[k] += 1
                        if seen[k] == 1:
                            d += 1
                    hi += 1
                while ts[lo] < t - w:
                    k = codes[lo]
                    if k >= 0:
                        seen[k] -= 1
                        if seen[k] == 0:
                            d -= 1
                    lo += 1
                out[r] = d
            for j in range(lo, hi):  # clear the partition's counts
                k = codes[j]
                if k >= 0:
                    seen[k] = 0
            i = e
        return out

    return window_agg, window_distinct


_COMPILED: tuple[Any, Any] | None = None


def kernels() -> tuple[Any, Any]:
    """(window_agg, window_distinct), compiled once per process (cached on disk by numba)."""
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = _kernels()
    return _COMPILED


def window_aggregate(
    part: np.ndarray, ts: np.ndarray, vals: np.ndarray, valid: np.ndarray, window_us: int, kind: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row (rows sorted by ``part`` then ``ts``): the aggregate of the valid ``vals`` of its
    group in ``[ts - window_us, ts]``; returns (values, not-null mask)."""
    agg, _ = kernels()
    out, ok = agg(
        np.ascontiguousarray(part, np.int64),
        np.ascontiguousarray(ts, np.int64),
        np.ascontiguousarray(vals, np.float64),
        np.ascontiguousarray(valid, np.bool_),
        int(window_us),
        int(kind),
    )
    return np.asarray(out), np.asarray(ok)


def window_count_distinct(part: np.ndarray, ts: np.ndarray, codes: np.ndarray, window_us: int) -> np.ndarray:
    """Per row (sorted by ``part`` then ``ts``): distinct non-negative ``codes`` in its window."""
    _, distinct = kernels()
    c = np.ascontiguousarray(codes, np.int64)
    n_codes = int(c.max()) + 1 if len(c) else 0
    return np.asarray(
        distinct(np.ascontiguousarray(part, np.int64), np.ascontiguousarray(ts, np.int64), c, n_codes, int(window_us))
    )
