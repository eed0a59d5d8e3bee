"""List loaders: UN consolidated XML, OFAC SDN CSV and advanced XML, EU financial sanctions XML,
FollowTheMoney JSON lines (OpenSanctions exports) and crypto tagpacks (YAML).

Each loader reads one file completely and returns a :class:`LoadedList`, or raises
:class:`UserInputError` naming the file, the row or element and the field: nothing is stored
until a whole file has been read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from filiere.errors import UserInputError
from filiere.screening.models import LIST_FORMATS, ListEntity, LoadedList

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}  # noqa: SIM905


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def _uniq(values: Iterable[str | None]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        v = _clean(v)
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 (lower case) for a country name or code, via rigour's territory table."""
    if not value:
        return None
    from rigour.territories import lookup_territory

    terr = lookup_territory(value.strip())
    if terr is None:
        return None
    code = terr.ftm_country or terr.code
    return str(code).lower() if code else None


def norm_identifier(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(path: Path) -> ET.Element:
    try:
        # expat >= 2.4.1 (Python's) refuses billion-laughs expansion; no external entities are fetched
        return ET.parse(path).getroot()  # noqa: S314
    except ET.ParseError as exc:
        raise UserInputError(f"{path}: not well-formed XML: {exc}") from exc
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc}") from exc


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- UN
def _un_text(el: ET.Element, name: str) -> str | None:
    child = el.find(name)
    return _clean(child.text) if child is not None else None


def _un_dates(el: ET.Element) -> list[str]:
    out: list[str] = []
    for dob in el.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        date = _un_text(dob, "DATE")
        year = _un_text(dob, "YEAR")
        y_from, y_to = _un_text(dob, "FROM_YEAR"), _un_text(dob, "TO_YEAR")
        if date:
            out.append(date[:10])
        elif year:
            out.append(year)
        elif y_from and y_to and y_from.isdigit() and y_to.isdigit():
            out.extend(str(y) for y in range(int(y_from), int(y_to) + 1))
    return _uniq(out)


_PAREN_TAIL = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)\s*\.?$")
_ORIGINAL_SCRIPT = re.compile(r"^original script\s*:\s*", re.IGNORECASE)


def split_name_field(text: str) -> list[str]:
    """The names in one UN alias field: ``"Qasim Soleimani; Qasem Sulaimani"`` is two names,
    ``"Jin Tiesan (金铁三)"`` and ``"Abubakar (original script: Абубакар)"`` a name and its original
    script, and a remark in brackets (``"…, born 1 Jan. 1953 (Oman passport no. …)"``: digits, or
    more than six words) is not a name. Other brackets (an acronym: ``"… (GSPC)"``) stay."""
    from filiere.screening.normalize import script_of

    pieces = [text]
    m = _PAREN_TAIL.match(text)
    if m:
        outer, inner = m.group("outer").strip(" ,"), m.group("inner").strip()
        if _ORIGINAL_SCRIPT.match(inner):
            pieces = [outer, _ORIGINAL_SCRIPT.sub("", inner)]
        elif script_of(inner) != script_of(outer) or (not inner.isascii() and outer.isascii()):
            pieces = [outer, inner]
        elif any(ch.isdigit() for ch in inner) or len(inner.split()) > 6:
            pieces = [outer]
    out: list[str] = []
    for piece in pieces:
        for name in piece.split(";"):
            name = name.strip(" ,")
            # a remark after the name: "…, born 1 Jan. 1953"
            name = re.split(r",\s*(?:born|date of birth|dob)\b", name, maxsplit=1, flags=re.IGNORECASE)[0].strip()
            if name:
                out.append(name)
    return out or [text]


def load_un_xml(path: Path) -> LoadedList:
    root = _parse_xml(path)
    if _local(root.tag) != "CONSOLIDATED_LIST":
        raise UserInputError(f"{path}: not a UN consolidated list (root element <{_local(root.tag)}>)")
    entities: list[ListEntity] = []
    for kind, alias_tag in (("INDIVIDUAL", "INDIVIDUAL_ALIAS"), ("ENTITY", "ENTITY_ALIAS")):
        for i, el in enumerate(root.iter(kind), 1):
            ref = _un_text(el, "REFERENCE_NUMBER") or _un_text(el, "DATAID")
            if not ref:
                raise UserInputError(f"{path}: <{kind}> #{i}: no REFERENCE_NUMBER nor DATAID")
            parts = [_un_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
            primary = " ".join(p for p in parts if p)
            if not primary:
                raise UserInputError(f"{path}: <{kind}> {ref}: no name (FIRST_NAME is empty)")
            strong: list[str | None] = [primary, _un_text(el, "NAME_ORIGINAL_SCRIPT")]
            weak: list[str | None] = []
            for al in el.findall(alias_tag):
                name = _un_text(al, "ALIAS_NAME")
                if not name:
                    continue
                low = (_un_text(al, "QUALITY") or "").lower() in ("low", "a.k.a.-low")
                (weak if low else strong).extend(split_name_field(name))
            names = _uniq(strong)
            countries = _uniq(country_code(v.text) for v in el.findall("NATIONALITY/VALUE"))
            ids = _uniq(norm_identifier(n.text or "") for n in el.findall("INDIVIDUAL_DOCUMENT/NUMBER"))
            gender = (_un_text(el, "GENDER") or "").lower() or None
            entities.append(
                ListEntity(
                    entity_id=f"un:{ref}",
                    schema="Person" if kind == "INDIVIDUAL" else "Organization",
                    caption=primary,
                    names=names,
                    weak_names=[w for w in _uniq(weak) if w not in names],
                    birth_dates=_un_dates(el) if kind == "INDIVIDUAL" else [],
                    countries=countries,
                    gender=gender if gender in ("male", "female") else None,
                    identifiers=ids,
                    programs=_uniq([_un_text(el, "UN_LIST_TYPE")]),
                    listed_on=_un_text(el, "LISTED_ON"),
                )
            )
    if not entities:
        raise UserInputError(f"{path}: no INDIVIDUAL nor ENTITY element: not a UN consolidated list")
    generated = root.get("dateGenerated")
    return LoadedList("un", "un-xml", generated[:10] if generated else None, entities)


# --------------------------------------------------------------------------------------- OFAC CSV
_DCA = re.compile(r"Digital Currency Address - ([A-Z0-9]+)\s+([0-9A-Za-z]+)")
_DOB = re.compile(
    r"\bDOB (circa )?((?:\d{1,2} )?(?:[A-Z][a-z]{2} )?\d{4})(?: to ((?:\d{1,2} )?(?:[A-Z][a-z]{2} )?\d{4}))?"
)
_NAT = re.compile(r"\b(?:nationality|citizen) ([A-Z][A-Za-z ,.'-]+?)(?:;|\.$|$)")
_GENDER = re.compile(r"\bGender (Male|Female)\b")
_DOC = re.compile(
    r"\b(?:Passport|National ID No\.|Cedula No\.|Identification Number|C\.U\.R\.P\.|NIT #|Tax ID No\.)"
    r" ([0-9A-Z][0-9A-Z -]{3,})"
)
_WEAK = re.compile(r"a\.k\.a\. '([^']+)'")


def ofac_date(text: str) -> str | None:
    """'25 Mar 1977' → '1977-03-25'; 'Mar 1977' → '1977-03'; '1977' → '1977'."""
    parts = text.split()
    if not parts or not parts[-1].isdigit():
        return None
    year = parts[-1]
    if len(parts) >= 2 and parts[-2][:3].lower() in _MONTHS:
        month = _MONTHS[parts[-2][:3].lower()]
        if len(parts) >= 3 and parts[-3].isdigit():
            return f"{year}-{month:02d}-{int(parts[-3]):02d}"
        return f"{year}-{month:02d}"
    return year


def parse_ofac_remarks(remarks: str) -> dict[str, Any]:
    """Qualifiers OFAC writes into the remarks of an SDN row."""
    dobs: list[str] = []
    for m in _DOB.finditer(remarks):
        start = ofac_date(m.group(2))
        end = ofac_date(m.group(3)) if m.group(3) else None
        if start and end and len(start) == 4 and len(end) == 4:
            dobs.extend(str(y) for y in range(int(start), int(end) + 1))
        elif start:
            dobs.append(start)
    return {
        "birth_dates": _uniq(dobs),
        "countries": _uniq(country_code(m.group(1)) for m in _NAT.finditer(remarks)),
        "gender": (g.group(1).lower() if (g := _GENDER.search(remarks)) else None),
        "identifiers": _uniq(norm_identifier(m.group(1).split(" (")[0]) for m in _DOC.finditer(remarks)),
        "crypto": _uniq(f"{cur}:{addr}" for cur, addr in _DCA.findall(remarks)),
        "weak": _uniq(_WEAK.findall(remarks)),
    }


def _ofac_rows(path: Path, width: int) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for n, row in enumerate(csv.reader(fh), 1):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if row[0].strip().startswith("\x1a"):  # DOS end-of-file marker in old OFAC exports
                    continue
                if len(row) != width:
                    raise UserInputError(f"{path}: row {n}: expected {width} fields, found {len(row)}")
                if not row[0].strip().isdigit():
                    raise UserInputError(f"{path}: row {n}, field ent_num: not a number: {row[0]!r}")
                rows.append([None if v.strip() in ("-0-", "") else v.strip() for v in row])
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc}") from exc
    except csv.Error as exc:
        raise UserInputError(f"{path}: not valid CSV: {exc}") from exc
    return rows


def _sibling(path: Path, kind: str) -> Path | None:
    name = path.name
    if "sdn" in name.lower():
        idx = name.lower().rindex("sdn")
        cand = path.with_name(name[:idx] + kind + name[idx + 3 :])
        if cand.exists():
            return cand
    return None


def _ofac_person_name(name: str, schema: str) -> str:
    # "YAN, Xiaobing" → "Xiaobing YAN" for individuals (the matcher ignores order; display reads better)
    if schema == "Person" and name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        return f"{first} {last}".strip()
    return name


def load_ofac_csv(path: Path) -> LoadedList:
    sdn = _ofac_rows(path, 12)
    if not sdn:
        raise UserInputError(f"{path}: no SDN rows")
    alt_path, add_path = _sibling(path, "alt"), _sibling(path, "add")
    aliases: dict[str, list[str]] = {}
    if alt_path is not None:
        for row in _ofac_rows(alt_path, 5):
            if row[3]:
                aliases.setdefault(str(row[0]), []).append(str(row[3]))
    addr_countries: dict[str, list[str]] = {}
    if add_path is not None:
        for row in _ofac_rows(add_path, 6):
            if row[4]:
                addr_countries.setdefault(str(row[0]), []).append(str(row[4]))
    schemas = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
    entities: list[ListEntity] = []
    for n, row in enumerate(sdn, 1):
        ent, name = str(row[0]), row[1]
        if not name:
            raise UserInputError(f"{path}: row {n}, field name: empty for ent_num {ent}")
        schema = schemas.get((row[2] or "").lower(), "Organization")
        info = parse_ofac_remarks(row[11] or "")
        names = _uniq([_ofac_person_name(name, schema)] + [_ofac_person_name(a, schema) for a in aliases.get(ent, [])])
        entities.append(
            ListEntity(
                entity_id=f"ofac:{ent}",
                schema=schema,
                caption=name,
                names=names,
                weak_names=[w for w in info["weak"] if w not in names],
                birth_dates=info["birth_dates"],
                countries=info["countries"],
                gender=info["gender"],
                identifiers=info["identifiers"],
                crypto=info["crypto"],
                programs=_uniq((row[3] or "").replace("] [", "; ").strip("[]").split("; ")),
            )
        )
    return LoadedList("ofac", "ofac-csv", None, entities)


# -------------------------------------------------------------------------------- OFAC advanced XML
def _ofac_adv_date(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    vals = {_local(c.tag): (c.text or "").strip() for c in el}
    year = vals.get("Year")
    if not year:
        return None
    month, day = vals.get("Month"), vals.get("Day")
    if month and day:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    if month:
        return f"{year}-{int(month):02d}"
    return year


def load_ofac_xml(path: Path) -> LoadedList:
    """OFAC's SDN "advanced" XML (the Sanctions / DistinctParties / Profile / Identity / Alias model)."""
    root = _parse_xml(path)
    if _local(root.tag) != "Sanctions":
        raise UserInputError(f"{path}: not an OFAC advanced XML file (root element <{_local(root.tag)}>)")

    def children(el: ET.Element, name: str) -> list[ET.Element]:
        return [c for c in el if _local(c.tag) == name]

    def desc(el: ET.Element, name: str) -> list[ET.Element]:
        return [c for c in el.iter() if _local(c.tag) == name]

    ref: dict[str, dict[str, str]] = {}
    for rvs in desc(root, "ReferenceValueSets"):
        for group in rvs:
            for val in group:
                ref.setdefault(_local(val.tag), {})[val.get("ID", "")] = (val.text or "").strip()
    sub_types, feature_types = ref.get("PartySubType", {}), ref.get("FeatureType", {})
    locations: dict[str, str] = {}
    for loc in desc(root, "Location"):
        for lc in children(loc, "LocationCountry"):
            locations[loc.get("ID", "")] = ref.get("Country", {}).get(lc.get("CountryID", ""), "")
    programs: dict[str, list[str]] = {}
    for entry in desc(root, "SanctionsEntry"):
        progs = [(c.text or "").strip() for m in children(entry, "SanctionsMeasure") for c in children(m, "Comment")]
        programs[entry.get("ProfileID", "")] = [p for p in progs if p]
    issue = next(iter(desc(root, "DateOfIssue")), None)

    entities: list[ListEntity] = []
    for i, party in enumerate(desc(root, "DistinctParty"), 1):
        for profile in children(party, "Profile"):
            pid = profile.get("ID") or party.get("FixedRef")
            if not pid:
                raise UserInputError(f"{path}: DistinctParty #{i}: Profile without ID")
            sub = sub_types.get(profile.get("PartySubTypeID", ""), "").lower()
            schema = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}.get(sub, "Organization")
            names: list[str] = []
            weak: list[str] = []
            for ident in children(profile, "Identity"):
                for alias in children(ident, "Alias"):
                    for dn in children(alias, "DocumentedName"):
                        parts = [(v.text or "").strip() for v in desc(dn, "NamePartValue")]
                        full = " ".join(p for p in parts if p)
                        if not full:
                            continue
                        low = alias.get("LowQuality", "false").lower() == "true"
                        if alias.get("Primary", "false").lower() == "true" and not low:
                            names.insert(0, full)
                        else:
                            (weak if low else names).append(full)
            if not names:
                raise UserInputError(f"{path}: Profile {pid}: no documented name")
            dobs: list[str | None] = []
            countries: list[str | None] = []
            crypto: list[str] = []
            gender: str | None = None
            for feat in children(profile, "Feature"):
                ftype = feature_types.get(feat.get("FeatureTypeID", ""), "")
                for fv in children(feat, "FeatureVersion"):
                    details = [(d.text or "").strip() for d in children(fv, "VersionDetail")]
                    locs = [locations.get(vl.get("LocationID", ""), "") for vl in children(fv, "VersionLocation")]
                    if ftype.lower().startswith("birthdate"):
                        for period in desc(fv, "DatePeriod"):
                            start = next(iter(desc(period, "From")), None)
                            dobs.append(_ofac_adv_date(start))
                    elif ftype.startswith("Digital Currency Address"):
                        cur = ftype.rsplit("-", 1)[-1].strip()
                        crypto.extend(f"{cur}:{d}" for d in details if d)
                    elif ftype in ("Nationality Country", "Citizenship Country"):
                        countries.extend(country_code(loc) for loc in locs)
                    elif ftype == "Gender":
                        detail_ref = ref.get("DetailReference", {})
                        for d in children(fv, "VersionDetail"):
                            g = (detail_ref.get(d.get("DetailReferenceID", ""), "") or d.text or "").lower()
                            gender = g if g in ("male", "female") else gender
            ents_names = _uniq(_ofac_person_name(n, schema) for n in names)
            entities.append(
                ListEntity(
                    entity_id=f"ofac:{pid}",
                    schema=schema,
                    caption=names[0],
                    names=ents_names,
                    weak_names=[w for w in _uniq(weak) if w not in ents_names],
                    birth_dates=_uniq(dobs),
                    countries=_uniq(countries),
                    gender=gender,
                    crypto=_uniq(crypto),
                    programs=programs.get(pid, []),
                )
            )
    if not entities:
        raise UserInputError(f"{path}: no DistinctParty with a Profile: not an OFAC advanced XML file")
    return LoadedList("ofac", "ofac-xml", _ofac_adv_date(issue), entities)


# ------------------------------------------------------------------------------------------- EU
def load_eu_xml(path: Path) -> LoadedList:
    """The EU Financial Sanctions Files export (``export`` / ``sanctionEntity`` / ``nameAlias``…)."""
    root = _parse_xml(path)
    if _local(root.tag) != "export":
        raise UserInputError(f"{path}: not an EU financial sanctions file (root element <{_local(root.tag)}>)")
    entities: list[ListEntity] = []
    for i, se in enumerate((c for c in root if _local(c.tag) == "sanctionEntity"), 1):
        lid = se.get("logicalId") or se.get("euReferenceNumber")
        if not lid:
            raise UserInputError(f"{path}: sanctionEntity #{i}: no logicalId")
        kids = list(se)
        subject = next((c for c in kids if _local(c.tag) == "subjectType"), None)
        code = (subject.get("code") if subject is not None else "") or ""
        schema = {"person": "Person", "enterprise": "Organization"}.get(code, "Organization")
        names: list[str | None] = []
        gender: str | None = None
        for alias in (c for c in kids if _local(c.tag) == "nameAlias"):
            whole = alias.get("wholeName") or " ".join(
                p for p in (alias.get("firstName"), alias.get("middleName"), alias.get("lastName")) if p
            )
            names.append(whole)
            g = (alias.get("gender") or "").upper()
            gender = {"M": "male", "F": "female"}.get(g, gender)
        clean = _uniq(names)
        if not clean:
            raise UserInputError(f"{path}: sanctionEntity {lid}: no nameAlias with a name")
        dobs = [b.get("birthdate") or b.get("year") for b in kids if _local(b.tag) == "birthdate"]
        countries = [
            (c.get("countryIso2Code") or "").lower() or country_code(c.get("countryDescription"))
            for c in kids
            if _local(c.tag) == "citizenship"
        ]
        ids = [norm_identifier(c.get("number") or "") for c in kids if _local(c.tag) == "identification"]
        regs = [c.get("programme") for c in kids if _local(c.tag) == "regulation"]
        entities.append(
            ListEntity(
                entity_id=f"eu:{lid}",
                schema=schema,
                caption=clean[0],
                names=clean,
                birth_dates=_uniq(dobs),
                countries=[c for c in _uniq(countries) if c != "00"],
                gender=gender,
                identifiers=_uniq(ids),
                programs=_uniq(regs),
                listed_on=None,
            )
        )
    if not entities:
        raise UserInputError(f"{path}: no sanctionEntity element: not an EU financial sanctions file")
    gen = root.get("generationDate")
    return LoadedList("eu", "eu-xml", gen[:10] if gen else None, entities)


# ------------------------------------------------------------------------------------------ FtM
_FTM_SCREENED = ("Person", "Organization", "Company", "LegalEntity", "PublicBody", "Vessel", "Airplane", "CryptoWallet")


def load_ftm(path: Path) -> LoadedList:
    """FollowTheMoney entities as JSON lines (an OpenSanctions ``entities.ftm.json`` export)."""
    from followthemoney import model

    entities: list[ListEntity] = []
    datasets: set[str] = set()
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc}") from exc
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserInputError(f"{path}: line {n}: not JSON: {exc}") from exc
            if not isinstance(data, dict) or "schema" not in data or not data.get("id"):
                raise UserInputError(f"{path}: line {n}: not a FollowTheMoney entity (needs id and schema)")
            try:
                proxy = model.get_proxy(data)
            except Exception as exc:
                raise UserInputError(f"{path}: line {n}, field schema: {exc}") from exc
            datasets.update(data.get("datasets") or [])
            schema = proxy.schema
            if not any(schema.is_a(s) for s in _FTM_SCREENED if model.get(s) is not None):
                continue
            names = _uniq(proxy.get("name") + proxy.get("alias", quiet=True) + proxy.get("previousName", quiet=True))
            crypto = [
                f"{(proxy.first('currency', quiet=True) or 'XBT')}:{a}" for a in proxy.get("publicKey", quiet=True)
            ]
            if not names and not crypto:
                continue
            ids = proxy.get("idNumber", quiet=True) + proxy.get("passportNumber", quiet=True)
            ids += proxy.get("registrationNumber", quiet=True) + proxy.get("imoNumber", quiet=True)
            gender = proxy.first("gender", quiet=True)
            entities.append(
                ListEntity(
                    entity_id=f"ftm:{proxy.id}",
                    schema=schema.name
                    if schema.name in ("Person", "Vessel", "Airplane", "CryptoWallet")
                    else "Organization",
                    caption=proxy.caption or (names[0] if names else str(proxy.id)),
                    names=names,
                    weak_names=_uniq(proxy.get("weakAlias", quiet=True)),
                    birth_dates=_uniq(proxy.get("birthDate", quiet=True)),
                    countries=_uniq(proxy.get("nationality", quiet=True) + proxy.get("citizenship", quiet=True))
                    or (_uniq(proxy.get("country", quiet=True)) if not schema.is_a("Person") else []),
                    gender=gender if gender in ("male", "female") else None,
                    identifiers=_uniq(norm_identifier(i) for i in ids),
                    crypto=_uniq(crypto),
                    programs=_uniq(proxy.get("topics", quiet=True) + proxy.get("program", quiet=True)),
                    listed_on=proxy.first("createdAt", quiet=True),
                )
            )
    if not entities:
        raise UserInputError(f"{path}: no screenable FollowTheMoney entity (Person, Organization, CryptoWallet…)")
    list_id = "ftm:" + ("+".join(sorted(datasets))[:60] if datasets else path.stem)
    return LoadedList(list_id, "ftm", None, entities)


# ------------------------------------------------------------------------------------- tagpacks
def load_tagpack(path: Path) -> LoadedList:
    """A GraphSense tagpack (YAML): header fields apply to every tag unless the tag overrides them."""
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise UserInputError(f"{path}: not a readable YAML tagpack: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise UserInputError(f"{path}: not a tagpack (needs a 'tags' list)")
    header = {k: v for k, v in doc.items() if k != "tags"}
    entities: dict[str, ListEntity] = {}
    for n, tag in enumerate(doc["tags"], 1):
        if not isinstance(tag, dict) or not tag.get("address"):
            raise UserInputError(f"{path}: tag {n}, field address: missing")
        t = {**header, **tag}
        addr = str(t["address"]).strip()
        cur = str(t.get("currency") or "").upper()
        if not cur:
            raise UserInputError(f"{path}: tag {n}, field currency: missing (and no currency in the header)")
        label = str(t.get("label") or t.get("title") or addr)
        eid = f"tagpack:{cur}:{addr}"
        if eid in entities:
            continue
        entities[eid] = ListEntity(
            entity_id=eid,
            schema="CryptoWallet",
            caption=label,
            names=[label],
            crypto=[f"{cur}:{addr}"],
            programs=_uniq([str(t.get("abuse") or ""), str(t.get("title") or "")]),
        )
    if not entities:
        raise UserInputError(f"{path}: tagpack has no tags")
    lastmod = header.get("lastmod")
    return LoadedList(
        f"tagpack:{path.stem.removeprefix('tagpack_')}",
        "tagpack",
        str(lastmod) if lastmod else None,
        list(entities.values()),
    )


LOADERS: dict[str, Callable[[Path], LoadedList]] = {
    "un-xml": load_un_xml,
    "ofac-csv": load_ofac_csv,
    "ofac-xml": load_ofac_xml,
    "eu-xml": load_eu_xml,
    "ftm": load_ftm,
    "tagpack": load_tagpack,
}


def load_list(path: Path | str, fmt: str) -> LoadedList:
    """Read a list file in ``fmt`` (one of :data:`LIST_FORMATS`)."""
    path = Path(path)
    if fmt not in LOADERS:
        raise UserInputError(f"unknown list format {fmt!r} (available: {', '.join(LIST_FORMATS)})")
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    loaded = LOADERS[fmt](path)
    ids = [e.entity_id for e in loaded.entities]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise UserInputError(f"{path}: entity id {dup} appears twice")
    loaded.source_path = str(path)
    loaded.sha256 = _sha256(path)
    return loaded
