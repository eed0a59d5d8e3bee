"""Object records (Object ID standard fields) read from stolen-art registers and sale listings.

The reader accepts the FBI National Stolen Art File's columns (``Title, Category, Reference Number,
Maker/Artist, Materials, Measurements, Time Period, Additional Information, Image Link``), the
Object ID names (``type, title, maker, materials, technique, measurements, period, inscriptions,
distinguishing_features, description, image_path``) and, for sale listings, ``seller_party_id``,
``buyer_party_id``, ``account_id``, ``tx_id``. Any of them may be empty or absent.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from filiere.errors import UserInputError
from filiere.vectors.art.measure import parse_measurements

#: column name as written (lower-cased, punctuation collapsed) -> Object ID field
COLUMN_ALIASES: dict[str, str] = {
    "title": "title",
    "category": "object_type",
    "type": "object_type",
    "object type": "object_type",
    "object_type": "object_type",
    "reference number": "reference_number",
    "reference_number": "reference_number",
    "reference": "reference_number",
    "id": "reference_number",
    "maker artist": "maker",
    "maker": "maker",
    "artist": "maker",
    "materials": "materials",
    "material": "materials",
    "technique": "technique",
    "measurements": "measurements",
    "dimensions": "measurements",
    "time period": "period",
    "period": "period",
    "date": "period",
    "date period": "period",
    "additional information": "description",
    "description": "description",
    "inscriptions": "inscriptions",
    "inscriptions markings": "inscriptions",
    "distinguishing features": "distinguishing_features",
    "distinguishing_features": "distinguishing_features",
    "image link": "image_url",
    "image url": "image_url",
    "image_url": "image_url",
    "image path": "image_path",
    "image_path": "image_path",
    "image file": "image_path",
    "image": "image_path",
    "seller party id": "seller_party_id",
    "seller_party_id": "seller_party_id",
    "seller": "seller_party_id",
    "buyer party id": "buyer_party_id",
    "buyer_party_id": "buyer_party_id",
    "buyer": "buyer_party_id",
    "account id": "account_id",
    "account_id": "account_id",
    "tx id": "tx_id",
    "tx_id": "tx_id",
}

TEXT_FIELDS = (
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
)

_MARKING = re.compile(r"\b(signed|inscribed|stamped|dated|marked|monogram|initialed|label|numbered)\b", re.I)


@dataclass(slots=True)
class ArtObject:
    """One object, as Object ID describes it. ``row`` is the 1-based data row of its file."""

    reference_number: str = ""
    object_type: str = ""
    title: str = ""
    maker: str = ""
    materials: str = ""
    technique: str = ""
    measurements: str = ""
    period: str = ""
    inscriptions: str = ""
    distinguishing_features: str = ""
    description: str = ""
    image_url: str = ""
    image_path: str = ""
    seller_party_id: str = ""
    buyer_party_id: str = ""
    account_id: str = ""
    tx_id: str = ""
    row: int = 0
    dims_cm: tuple[float, ...] = field(default_factory=tuple)
    year_from: int | None = None
    year_to: int | None = None

    def object_id(self, register: str) -> str:
        digest = hashlib.sha256(f"{self.title}|{self.maker}|{self.measurements}|{self.row}".encode()).hexdigest()
        return f"{register}:{self.reference_number or self.row}:{digest[:8]}"

    @property
    def party_ids(self) -> list[str]:
        return [p for p in (self.seller_party_id, self.buyer_party_id) if p]


def normalise(text: str | None) -> str:
    """Lower case, accents removed, punctuation to spaces, whitespace collapsed."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


_CENTURY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\s*(?:-\s*\d{1,2}(?:st|nd|rd|th)\s*)?centur", re.I)
_CENTURY_RANGE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\s*(?:-|to)\s*(\d{1,2})(?:st|nd|rd|th)\s*centur", re.I)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")


def parse_period(text: str | None) -> tuple[int | None, int | None]:
    """``1977`` → (1977, 1977); ``Circa 1875`` → (1865, 1885); ``19th Century`` → (1800, 1899);
    ``1864-1926`` → (1864, 1926); ``1920s`` → (1920, 1929). BC dates and dynasties are left out."""
    if not text:
        return None, None
    t = text.lower()
    m = _CENTURY_RANGE.search(t)
    if m:
        return (int(m.group(1)) - 1) * 100, int(m.group(2)) * 100 - 1
    m = _CENTURY.search(t)
    if m and not _YEAR.search(t):
        c = int(m.group(1))
        lo, hi = (c - 1) * 100, c * 100 - 1
        if "early" in t:
            hi = lo + 33
        elif "late" in t:
            lo = hi - 33
        elif "mid" in t:
            lo, hi = lo + 33, hi - 33
        return lo, hi
    years = [int(y) for y in _YEAR.findall(t)]
    if not years:
        return None, None
    lo, hi = min(years), max(years)
    if re.search(r"\b\d{4}s\b", t):
        hi = max(hi, lo + 9)
    if "circa" in t or re.search(r"\bc\.?\s*\d", t) or "ca." in t:
        lo, hi = lo - 10, hi + 10
    return lo, hi


def _canon(col: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z_]+", " ", col.lower()).split())


def finish(obj: ArtObject) -> ArtObject:
    """Derive parsed fields (dimensions, years, inscriptions taken out of free text)."""
    m = parse_measurements(obj.measurements)
    obj.dims_cm = m.dims_cm if m else ()
    obj.year_from, obj.year_to = parse_period(obj.period)
    if not obj.inscriptions and obj.description:
        marks = [p.strip() for p in re.split(r";", obj.description) if _MARKING.search(p)]
        obj.inscriptions = "; ".join(marks)
    return obj


def read_objects(path: Path) -> list[ArtObject]:
    """Read an object CSV (FBI NSAF columns or Object ID names). Unknown columns are ignored."""
    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise UserInputError(f"{path}: empty file") from None
            mapping: dict[int, str] = {}
            for i, col in enumerate(header):
                name = COLUMN_ALIASES.get(_canon(col)) or COLUMN_ALIASES.get(_canon(col).replace("_", " "))
                if name and name not in mapping.values():
                    mapping[i] = name
            if not mapping:
                raise UserInputError(
                    f"{path}: no known column in header {header!r} (expected e.g. Title, Maker/Artist, Measurements)"
                )
            out: list[ArtObject] = []
            for rowno, row in enumerate(reader, start=1):
                if not any(c.strip() for c in row):
                    continue
                if len(row) > len(header):
                    raise UserInputError(f"{path}: row {rowno}: {len(row)} fields, header has {len(header)}")
                obj = ArtObject(row=rowno)
                for i, name in mapping.items():
                    if i < len(row):
                        setattr(obj, name, row[i].strip())
                if obj.image_path and not Path(obj.image_path).is_absolute():
                    obj.image_path = str((path.parent / obj.image_path).resolve())
                out.append(finish(obj))
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{path}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise UserInputError(f"{path}: malformed CSV: {exc}") from exc
    return out
