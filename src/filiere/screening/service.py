"""The screening service: a ``Screener`` over the current lists of a store, batch and pair
screening of CSV files, and screening of every stored party and crypto wallet into alerts.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filiere.config import Settings
from filiere.errors import UserInputError
from filiere.screening.matcher import MatcherConfig, NameIndex, Query
from filiere.screening.models import ListEntity, Match
from filiere.store.base import Store

#: goAML report indicators: sanctions hit on a person (SPOSI) or on a legal entity / list (SPOSL)
INDICATOR_PERSON = "SPOSI"
INDICATOR_ENTITY = "SPOSL"


class Screener:
    """Screens names and crypto addresses against a fixed set of list entities (µs–ms a query)."""

    def __init__(
        self, entities: Sequence[ListEntity], config: MatcherConfig | None = None, fingerprint: str = ""
    ) -> None:
        self.config = config or MatcherConfig()
        self.index = NameIndex(entities, self.config)
        self.fingerprint = fingerprint

    @classmethod
    def from_store(cls, store: Store, config: MatcherConfig | None = None) -> Screener:
        from filiere.screening.repository import current_entities, current_fingerprint

        return cls(current_entities(store), config, current_fingerprint(store))

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def screen(
        self,
        name: str,
        *,
        schema: str | None = None,
        birth_date: str | None = None,
        country: str | None = None,
        gender: str | None = None,
        identifiers: Sequence[str] = (),
        limit: int = 10,
        cutoff: float | None = None,
    ) -> list[Match]:
        """Candidates for ``name``, best first; ``Match.match`` is true at the configured threshold."""
        return self.index.search(Query(name, schema, birth_date, country, gender, identifiers), limit, cutoff)

    def screen_address(self, address: str) -> list[Match]:
        """Listed entities holding exactly this crypto address (canonical form compared)."""
        return self.index.search_address(address)

    def compare(self, name1: str, name2: str, schema: str | None = None) -> Match:
        return self.index.compare(name1, name2, schema)

    def screen_many(self, queries: Sequence[Query], limit: int = 10, workers: int = 1) -> list[list[Match]]:
        """Batch path: one compiled pass per chunk of queries (token expansions cached across the
        batch). ``workers`` > 1 forks processes that share the index copy-on-write and return only
        arrays (best name ids and scores per query); matches are built here, explanations lazily."""
        if workers <= 1 or len(queries) < 4000 or os.name != "posix":
            out: list[list[Match]] = []
            for i in range(0, len(queries), BATCH):
                out.extend(self.index.search_many(queries[i : i + BATCH], limit))
            return out
        import multiprocessing as mp

        import numpy as np

        global _FORK_SCREENER
        _FORK_SCREENER = self
        chunks = [(a, min(a + BATCH, len(queries))) for a in range(0, len(queries), BATCH)]
        ctx = mp.get_context("fork")
        # the index's objects move to a permanent generation: the children's garbage collections do
        # not walk (and so copy-on-write) them
        gc.freeze()
        try:
            pool = ctx.Pool(workers)
        finally:
            gc.unfreeze()
        with pool:
            parts = pool.starmap(_score_chunk, [(list(queries[a:b]), limit) for a, b in chunks])
        out_nid = np.concatenate([p[0] for p in parts])
        out_score = np.concatenate([p[1] for p in parts])
        bounds = np.concatenate([p[2] for p in parts])
        out_nid2 = np.concatenate([p[3] for p in parts])
        return self.index.matches(queries, out_nid, out_score, bounds, limit, out_nid2=out_nid2)


#: queries per compiled pass
BATCH = 2048
_FORK_SCREENER: Screener | None = None


def _score_chunk(queries: list[Query], limit: int) -> tuple[Any, Any, Any, Any]:
    assert _FORK_SCREENER is not None
    return _FORK_SCREENER.index.score_queries(queries, limit)


# ------------------------------------------------------------------------------------ caching
_CACHE: dict[str, Screener] = {}
_LOCK = threading.Lock()


def config_for(settings: Settings) -> MatcherConfig:
    return MatcherConfig.from_settings(settings.area("screening"))


def get_screener(settings: Settings, store: Store | None = None) -> Screener:
    """A screener for the workspace, cached per workspace and rebuilt when a list version changes.

    ``store``: an already open store of that workspace (a service's unit of work); else one is
    opened read-only for the check.
    """
    if store is None:
        from filiere.store import open_store

        with open_store(settings, read_only=True) as own:
            return get_screener(settings, own)
    from filiere.screening.repository import current_fingerprint

    key = str(Path(settings.workspace).resolve())
    fp = current_fingerprint(store)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached.fingerprint == fp:
            return cached
    screener = Screener.from_store(store, config_for(settings))
    with _LOCK:
        _CACHE[key] = screener
    return screener


# -------------------------------------------------------------------------------- batch / pairs
def _read_csv(path: Path, required: Sequence[str]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise UserInputError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(header)})")
            rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc}") from exc
    return header, rows


def _schema_of(value: str, path: Path, n: int) -> str | None:
    if not value:
        return None
    norm = {
        "person": "Person",
        "organization": "Organization",
        "organisation": "Organization",
        "company": "Organization",
    }
    s = norm.get(value.lower(), value)
    if s not in ("Person", "Organization", "LegalEntity", "Vessel", "Airplane"):
        raise UserInputError(f"{path}: row {n}, field schema: unknown schema {value!r} (Person, Organization)")
    return s


def screen_batch(screener: Screener, path: Path, out: Path, workers: int = 1) -> dict[str, int]:
    """One output row per candidate at or above the threshold (input columns + match columns)."""
    header, rows = _read_csv(path, ["name"])
    queries = [
        Query(
            r["name"], _schema_of(r.get("schema", ""), path, n), r.get("birth_date") or None, r.get("country") or None
        )
        for n, r in enumerate(rows, 1)
    ]
    results = screener.screen_many(queries, workers=workers)
    cols = [*header, "entity_id", "list", "matched_name", "caption", "score", "explanation"]
    hits = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r, res in zip(rows, results, strict=True):
            for m in res:
                if not m.match:
                    continue
                hits += 1
                w.writerow(
                    {
                        **r,
                        "entity_id": m.entity_id,
                        "list": m.list_id,
                        "matched_name": m.matched_name,
                        "caption": m.caption,
                        "score": f"{m.score:.4f}",
                        "explanation": m.explanation,
                    }
                )
    return {"queries": len(rows), "hits": hits, "queries_with_hits": sum(1 for r in results if any(m.match for m in r))}


def screen_pairs(screener: Screener, path: Path, out: Path) -> dict[str, int]:
    header, rows = _read_csv(path, ["name1", "name2"])
    matches = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*header, "score", "match", "explanation"], extrasaction="ignore")
        w.writeheader()
        for n, r in enumerate(rows, 1):
            m = screener.compare(r["name1"], r["name2"], _schema_of(r.get("schema", ""), path, n))
            matches += m.match
            w.writerow(
                {**r, "score": f"{m.score:.4f}", "match": "true" if m.match else "false", "explanation": m.explanation}
            )
    return {"pairs": len(rows), "matches": matches}


# ------------------------------------------------------------------------------------ parties
def screen_parties(store: Store, screener: Screener) -> dict[str, Any]:
    """Screen every stored party and crypto-wallet account; write hits as alerts (idempotent)."""
    from filiere.cases.alerts import AlertRecord, insert_alerts

    parties = store.query_dicts(
        "SELECT party_id, schema, name, birth_date, nationality, country, id_number FROM parties"
    )
    alerts: list[AlertRecord] = []
    for p in parties:
        if not p["name"]:
            continue
        schema = "Person" if p["schema"] == "Person" else "Organization" if p["schema"] else None
        res = screener.screen(
            p["name"],
            schema=schema,
            birth_date=p["birth_date"],
            country=p["nationality"] or (p["country"] if schema != "Person" else None),
            identifiers=[p["id_number"]] if p["id_number"] else (),
            limit=3,
        )
        for m in res:
            if m.match:
                alerts.append(_alert(m, party_ids=[p["party_id"]], subject=p["name"]))
    wallets = store.query_dicts("SELECT account_id, account_number, owner_party_id FROM accounts WHERE kind = 'crypto'")
    for a in wallets:
        for m in screener.screen_address(a["account_number"]):
            owner = [a["owner_party_id"]] if a["owner_party_id"] else []
            alerts.append(_alert(m, party_ids=owner, account_ids=[a["account_id"]], subject=a["account_number"]))
    inserted = insert_alerts(store, alerts)
    return {"parties": len(parties), "wallets": len(wallets), "hits": len(alerts), "alerts_inserted": inserted}


def _alert(m: Match, *, party_ids: list[str], subject: str, account_ids: Sequence[str] = ()) -> Any:
    from filiere.cases.alerts import AlertRecord

    code = INDICATOR_PERSON if m.schema == "Person" else INDICATOR_ENTITY
    key = f"{(account_ids or party_ids or [subject])[0]}|{m.entity_id}"
    return AlertRecord(
        source="screening",
        title=f"Sanctions match: {subject} ~ {m.caption} ({m.list_id}, {m.score:.2f})",
        score=m.score,
        dedup_key=key,
        typology="sanctions-match",
        indicator_codes=[code],
        party_ids=party_ids,
        account_ids=list(account_ids),
        explanation={
            "summary": m.explanation,
            "features": [f.as_dict() for f in m.features],
            "matches": [json.loads(json.dumps(m.as_dict(), default=str))],
        },
    )
