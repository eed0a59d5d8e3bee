"""Art registers in the store, matching files against them, and the alerts a match raises."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from filiere.cases.alerts import AlertRecord, insert_alerts
from filiere.errors import UserInputError
from filiere.store.base import Store
from filiere.vectors.art.match import ArtIndex, MatchResult
from filiere.vectors.art.records import ArtObject, read_objects

#: score from which a candidate is reported as a match and raises a PCAN alert
ALERT_THRESHOLD = 0.75

_ART_ARROW = pa.schema(
    [
        ("object_id", pa.string()),
        ("register", pa.string()),
        ("reference_number", pa.string()),
        ("object_type", pa.string()),
        ("title", pa.string()),
        ("maker", pa.string()),
        ("materials", pa.string()),
        ("technique", pa.string()),
        ("measurements", pa.string()),
        ("dims_cm", pa.list_(pa.float64())),
        ("period", pa.string()),
        ("year_from", pa.int32()),
        ("year_to", pa.int32()),
        ("inscriptions", pa.string()),
        ("distinguishing_features", pa.string()),
        ("description", pa.string()),
        ("image_url", pa.string()),
        ("image_path", pa.string()),
        ("phash", pa.uint64()),
        ("properties", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("loaded_at", pa.timestamp("us")),
    ]
)

_TEXT_COLS = (
    "reference_number",
    "object_type",
    "title",
    "maker",
    "materials",
    "technique",
    "measurements",
    "period",
    "inscriptions",
    "distinguishing_features",
    "description",
    "image_url",
    "image_path",
)


@dataclass(slots=True)
class LoadReport:
    register: str
    read: int
    stored: int
    replaced: int
    with_dimensions: int
    with_images: int


def load_register(store: Store, path: Path, *, register: str = "fbi_nsaf") -> LoadReport:
    """Load a stolen-art register file; reloading the same file replaces its objects."""
    objects = read_objects(path)
    return store_objects(store, objects, register=register, source=str(path))


def store_objects(store: Store, objects: list[ArtObject], *, register: str, source: str) -> LoadReport:
    from filiere.vectors.art import images as img

    now = datetime.now(UTC).replace(tzinfo=None)
    cols: dict[str, list[Any]] = {name: [] for name in _ART_ARROW.names}
    seen: set[str] = set()
    for o in objects:
        oid = o.object_id(register)
        if oid in seen:
            continue
        seen.add(oid)
        phash = img.phash_of(img.load_gray(o.image_path)) if o.image_path else None
        cols["object_id"].append(oid)
        cols["register"].append(register)
        for c in _TEXT_COLS:
            cols[c].append(getattr(o, c) or None)
        cols["reference_number"][-1] = o.reference_number or str(o.row)
        cols["dims_cm"].append(list(o.dims_cm) or None)
        cols["year_from"].append(o.year_from)
        cols["year_to"].append(o.year_to)
        cols["phash"].append(phash)
        cols["properties"].append(json.dumps({"row": o.row}))
        cols["source_file"].append(source)
        cols["source_row"].append(o.row)
        cols["loaded_at"].append(now)
    table = pa.Table.from_pydict(cols, schema=_ART_ARROW)
    with store.transaction():
        before = int(store.scalar("SELECT count(*) FROM art_objects WHERE register = ?", [register]) or 0)
        store.execute("DELETE FROM art_objects WHERE register = ? AND source_file = ?", [register, source])
        after_delete = int(store.scalar("SELECT count(*) FROM art_objects WHERE register = ?", [register]) or 0)
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __art_new AS SELECT * FROM art_objects LIMIT 0")
        store.execute("DELETE FROM __art_new")
        store.insert_arrow("__art_new", table)
        store.execute("DELETE FROM art_objects WHERE object_id IN (SELECT object_id FROM __art_new)")
        store.execute("INSERT INTO art_objects SELECT * FROM __art_new")
        store.execute("DELETE FROM __art_new")
    return LoadReport(
        register=register,
        read=len(objects),
        stored=table.num_rows,
        replaced=before - after_delete,
        with_dimensions=sum(1 for d in cols["dims_cm"] if d),
        with_images=sum(1 for p in cols["phash"] if p is not None),
    )


def index_from_store(store: Store, registers: list[str] | None = None) -> ArtIndex:
    where = ""
    params: list[Any] = []
    if registers:
        where = "WHERE register IN (" + ", ".join("?" for _ in registers) + ")"
        params = list(registers)
    rows = store.query_dicts(f"SELECT * FROM art_objects {where} ORDER BY object_id", params)
    if not rows:
        raise UserInputError("no art register in this workspace: run `filiere art load FILE` first")
    objects: list[ArtObject] = []
    for r in rows:
        o = ArtObject(row=int(r["source_row"] or 0))
        for c in _TEXT_COLS:
            setattr(o, c, r[c] or "")
        o.dims_cm = tuple(r["dims_cm"] or ())
        o.year_from, o.year_to = r["year_from"], r["year_to"]
        objects.append(o)
    ix = ArtIndex([r["object_id"] for r in rows], objects)
    if ix.has_image.any():
        ix.prepare_images([r["phash"] for r in rows])
    return ix


def alerts_for(
    results: list[MatchResult], *, threshold: float = ALERT_THRESHOLD, source_name: str = ""
) -> list[AlertRecord]:
    """One PCAN alert per offered object whose best candidate scores at least ``threshold``."""
    out: list[AlertRecord] = []
    for res in results:
        hits = [c for c in res.candidates if c.score >= threshold]
        if not hits:
            continue
        q = res.query
        best = hits[0]
        label = q.title or q.maker or f"row {q.row}"
        out.append(
            AlertRecord(
                source="art",
                title=f"Offered object '{label}' matches stolen-art record {best.reference_number} ({best.title})",
                score=best.score,
                dedup_key=f"{source_name}|{q.row}|{q.title}|{q.maker}|{best.object_id}",
                typology="stolen-art-match",
                vector="art",
                indicator_codes=["PCAN"],
                party_ids=q.party_ids,
                account_ids=[q.account_id] if q.account_id else [],
                tx_ids=[q.tx_id] if q.tx_id else [],
                explanation={
                    "summary": f"best candidate {best.object_id} scores {best.score:.2f}: {best.summary()}",
                    "matches": [
                        {
                            "object_id": c.object_id,
                            "reference_number": c.reference_number,
                            "title": c.title,
                            "maker": c.maker,
                            "score": c.score,
                            "fields": c.explanation,
                        }
                        for c in hits
                    ],
                    "query": {"row": q.row, "title": q.title, "maker": q.maker, "measurements": q.measurements},
                },
            )
        )
    return out


OUT_COLUMNS = (
    "query_row",
    "query_title",
    "rank",
    "reference_number",
    "object_id",
    "candidate_title",
    "candidate_maker",
    "score",
    "text_score",
    "image_score",
    "explanation",
)


def write_results(results: list[MatchResult], out: Path) -> int:
    """Write one row per (query, candidate), best first within each query; returns rows written."""
    n = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(OUT_COLUMNS)
        for res in results:
            for rank, c in enumerate(res.candidates, start=1):
                w.writerow(
                    [
                        res.query.row,
                        res.query.title,
                        rank,
                        c.reference_number,
                        c.object_id,
                        c.title,
                        c.maker,
                        f"{c.score:.4f}",
                        f"{c.text_score:.4f}",
                        f"{c.image_score:.4f}",
                        json.dumps({"summary": c.summary(), "fields": c.explanation}, ensure_ascii=False),
                    ]
                )
                n += 1
    return n


def match_file(
    store: Store,
    path: Path,
    *,
    out: Path | None = None,
    top_n: int = 5,
    min_score: float = 0.3,
    alert_threshold: float = ALERT_THRESHOLD,
    raise_alerts: bool = True,
) -> tuple[list[MatchResult], int]:
    """Match every object of ``path`` against the stored registers; returns results and alerts inserted."""
    queries = read_objects(path)
    ix = index_from_store(store)
    results = ix.match_many(queries, top_n=top_n, min_score=min_score)
    if out is not None:
        write_results(results, out)
    n_alerts = 0
    if raise_alerts:
        n_alerts = insert_alerts(store, alerts_for(results, threshold=alert_threshold, source_name=str(path.name)))
    return results, n_alerts
