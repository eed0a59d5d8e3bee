"""GraphSense tagpacks (YAML) of attributed addresses: ransomware, terrorism, OFAC sanctions.

A tagpack sets defaults at its top level (``currency``, ``label``, ``abuse``, ``category``,
``source``, ``confidence``) that each tag may override. Each address becomes one row of
``crypto_tags`` with a category filiere acts on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from filiere.errors import UserInputError
from filiere.store.base import Store

CATEGORIES = ("ransomware", "terrorism", "sanctions", "exchange", "mixer", "darknet", "scam", "other")
#: categories that make an address a tainted source by default
TAINT_CATEGORIES = ("ransomware", "terrorism", "sanctions")

TAG_ARROW = pa.schema(
    [
        ("chain", pa.string()),
        ("address", pa.string()),
        ("label", pa.string()),
        ("category", pa.string()),
        ("tagpack", pa.string()),
        ("source", pa.string()),
        ("confidence", pa.string()),
    ]
)


def _category(abuse: str | None, category: str | None, title: str, label: str) -> str:
    a = (abuse or "").lower()
    text = f"{title} {label}".lower()
    if a in ("ransomware", "terrorism"):
        return a
    if a == "sanction" or "ofac" in text or "sanction" in text:
        return "sanctions"
    c = (category or "").lower()
    if c in CATEGORIES:
        return c
    if a in CATEGORIES:
        return a
    return "other"


def read_tagpack(path: Path) -> pa.Table:
    if not path.exists():
        raise UserInputError(f"{path}: no such tagpack")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise UserInputError(f"{path}: not a tagpack (expected a mapping with a 'tags' list)")
    title = str(doc.get("title") or path.stem)
    rows: dict[str, list[str | None]] = {name: [] for name in TAG_ARROW.names}
    for i, tag in enumerate(doc["tags"], start=1):
        if not isinstance(tag, dict) or not tag.get("address"):
            raise UserInputError(f"{path}: tag {i}: no 'address'")
        label = str(tag.get("label") or doc.get("label") or "")
        rows["chain"].append(str(tag.get("currency") or doc.get("currency") or "BTC").upper())
        rows["address"].append(str(tag["address"]).strip())
        rows["label"].append(label or None)
        rows["category"].append(
            _category(tag.get("abuse") or doc.get("abuse"), tag.get("category") or doc.get("category"), title, label)
        )
        rows["tagpack"].append(path.stem)
        rows["source"].append(str(tag.get("source") or doc.get("source") or "") or None)
        rows["confidence"].append(str(tag.get("confidence") or doc.get("confidence") or "") or None)
    return pa.table(rows, schema=TAG_ARROW)


def store_tags(store: Store, table: pa.Table) -> int:
    """Insert tags, replacing earlier rows of the same tagpacks."""
    if table.num_rows == 0:
        return 0
    packs = sorted(set(table.column("tagpack").to_pylist()))
    with store.transaction():
        store.execute(f"DELETE FROM crypto_tags WHERE tagpack IN ({', '.join('?' for _ in packs)})", packs)
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __tags_new AS SELECT * FROM crypto_tags LIMIT 0")
        store.execute("DELETE FROM __tags_new")
        store.insert_arrow("__tags_new", table)
        store.execute("INSERT INTO crypto_tags SELECT DISTINCT ON (chain, address, tagpack) * FROM __tags_new")
        n = int(store.scalar("SELECT count(*) FROM __tags_new") or 0)
        store.execute("DELETE FROM __tags_new")
    return n


def load_tagpacks(store: Store, paths: list[Path]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in paths:
        out[p.stem] = store_tags(store, read_tagpack(p))
    return out


def tagged_accounts(store: Store, categories: tuple[str, ...] | list[str]) -> dict[str, tuple[str, str | None]]:
    """``chain:address`` → (category, label) for the tags in ``categories``."""
    if not categories:
        return {}
    rows = store.query(
        f"SELECT chain || ':' || address, category, label FROM crypto_tags "
        f"WHERE category IN ({', '.join('?' for _ in categories)})",
        list(categories),
    )
    return {str(a): (str(c), lbl) for a, c, lbl in rows}
