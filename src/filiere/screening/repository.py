"""List versions in the workspace store (tables of migration 002) and their differences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from filiere.screening.models import ListEntity, LoadedList
from filiere.store.base import Store

_ENTITY_ARROW = pa.schema(
    [
        ("version_id", pa.string()),
        ("list_id", pa.string()),
        ("entity_id", pa.string()),
        ("schema", pa.string()),
        ("caption", pa.string()),
        ("names", pa.list_(pa.string())),
        ("weak_names", pa.list_(pa.string())),
        ("birth_dates", pa.list_(pa.string())),
        ("countries", pa.list_(pa.string())),
        ("gender", pa.string()),
        ("identifiers", pa.list_(pa.string())),
        ("crypto", pa.list_(pa.string())),
        ("programs", pa.list_(pa.string())),
        ("listed_on", pa.string()),
        ("content_hash", pa.string()),
    ]
)


@dataclass(slots=True)
class LoadReport:
    list_id: str
    version_id: str
    version_date: str | None
    entities: int
    added: list[str]
    removed: list[str]
    amended: list[str]
    previous_version: str | None
    unchanged_file: bool

    def as_dict(self, detail: int = 20) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "version_id": self.version_id,
            "version_date": self.version_date,
            "previous_version": self.previous_version,
            "unchanged_file": self.unchanged_file,
            "entities": self.entities,
            "added": len(self.added),
            "removed": len(self.removed),
            "amended": len(self.amended),
            "added_ids": self.added[:detail],
            "removed_ids": self.removed[:detail],
            "amended_ids": self.amended[:detail],
        }


def save_list(store: Store, loaded: LoadedList, version_date: str | None = None) -> LoadReport:
    """Store ``loaded`` as the current version of its list, in one transaction; report the diff."""
    version_id = f"{loaded.list_id}@{loaded.sha256[:16]}"
    vdate = version_date or loaded.version_date
    rows = []
    for e in loaded.entities:
        r = e.to_row()
        r["version_id"] = version_id
        r["list_id"] = loaded.list_id
        rows.append(r)
    table = pa.Table.from_pylist(rows, schema=_ENTITY_ARROW)
    with store.transaction():
        prev = store.query("SELECT version_id FROM list_versions WHERE list_id = ? AND is_current", [loaded.list_id])
        prev_id = prev[0][0] if prev else None
        if prev_id == version_id:
            n = int(store.scalar("SELECT entities FROM list_versions WHERE version_id = ?", [version_id]) or 0)
            return LoadReport(loaded.list_id, version_id, vdate, n, [], [], [], prev_id, True)
        old: dict[str, str] = {}
        if prev_id is not None:
            old = dict(store.query("SELECT entity_id, content_hash FROM list_entities WHERE version_id = ?", [prev_id]))
        new = {e.entity_id: r["content_hash"] for e, r in zip(loaded.entities, rows, strict=True)}
        added = sorted(k for k in new if k not in old) if prev_id is not None else sorted(new)
        removed = sorted(k for k in old if k not in new)
        amended = sorted(k for k in new if k in old and old[k] != new[k])
        # a file loaded again after another version: replace its earlier copy
        store.execute("DELETE FROM list_entities WHERE version_id = ?", [version_id])
        store.execute("DELETE FROM list_versions WHERE version_id = ?", [version_id])
        store.execute("UPDATE list_versions SET is_current = false WHERE list_id = ?", [loaded.list_id])
        store.insert_arrow("list_entities", table)
        store.execute(
            "INSERT INTO list_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true)",
            [
                version_id,
                loaded.list_id,
                loaded.list_format,
                vdate,
                datetime.now(UTC).replace(tzinfo=None),
                loaded.source_path,
                loaded.sha256,
                len(loaded.entities),
                len(added),
                len(removed),
                len(amended),
            ],
        )
    return LoadReport(loaded.list_id, version_id, vdate, len(loaded.entities), added, removed, amended, prev_id, False)


def list_versions(store: Store, current_only: bool = False) -> list[dict[str, Any]]:
    where = "WHERE is_current" if current_only else ""
    return store.query_dicts(
        f"SELECT list_id, version_id, list_format, version_date, loaded_at, entities, added, removed, amended, "
        f"is_current, source_path FROM list_versions {where} ORDER BY list_id, loaded_at"
    )


def current_fingerprint(store: Store) -> str:
    """Identifies the set of current list versions: the screener cache is keyed on it."""
    rows = store.query("SELECT version_id FROM list_versions WHERE is_current ORDER BY version_id")
    return "|".join(r[0] for r in rows)


def current_entities(store: Store) -> list[ListEntity]:
    """Every entity of the current version of every list."""
    tbl = store.query_arrow(
        "SELECT e.* FROM list_entities e JOIN list_versions v USING (version_id) WHERE v.is_current "
        "ORDER BY e.list_id, e.entity_id"
    )
    cols = {name: tbl.column(name).to_pylist() for name in tbl.column_names}
    out: list[ListEntity] = []
    for i in range(tbl.num_rows):
        out.append(
            ListEntity(
                entity_id=cols["entity_id"][i],
                schema=cols["schema"][i],
                caption=cols["caption"][i],
                names=cols["names"][i] or [],
                weak_names=cols["weak_names"][i] or [],
                birth_dates=cols["birth_dates"][i] or [],
                countries=cols["countries"][i] or [],
                gender=cols["gender"][i],
                identifiers=cols["identifiers"][i] or [],
                crypto=cols["crypto"][i] or [],
                programs=cols["programs"][i] or [],
                listed_on=cols["listed_on"][i],
            )
        )
    return out
