"""ISO 20022 pacs.008 (FI-to-FI customer credit transfer) and camt.053 (bank-to-customer statement).

Parsed with lxml by local names, so every version (.001.02 to .001.13), any namespace prefix, and a
wrapping element or business application header (``AppHdr``) around the ``Document`` are accepted.

- pacs.008: one transaction per ``CdtTrfTxInf``; debtor account/agent → ``from``, creditor → ``to``;
  ``IntrBkSttlmAmt`` is the amount received, ``InstdAmt`` (when present) the amount paid.
- camt.053: one transaction per ``TxDtls`` of each ``Ntry`` (a batch booking gives several), or per
  entry when it has no details. ``CdtDbtInd`` gives the direction (credit: counterparty → statement
  account); reversals (``RvslInd``) and charges are kept in ``properties``.
- Accounts are ``bank:number`` with the bank's BIC (``XXX`` branch code dropped) or, failing that,
  its name or clearing member id; the number is the IBAN or ``Othr/Id``. A party known only by name
  gets the account number ``NAME/<name>``.

A transaction whose required element is missing or invalid goes to quarantine with its element path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from filiere.io._records import Reject, dumps, parse_amount, parse_currency, parse_ts, stable_id, tables
from filiere.io.result import Batch, UnreadableFileError, tx_id_prefix
from filiere.model import account_id

_ROOTS = {"pacs008": "FIToFICstmrCdtTrf", "camt053": "BkToCstmrStmt"}


def _ln(el: Any) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(el: Any, name: str) -> Iterator[Any]:
    for c in el:
        if _ln(c) == name:
            yield c


def _find(el: Any, *path: str) -> Any | None:
    cur = el
    for name in path:
        if cur is None:
            return None
        cur = next(_children(cur, name), None)
    return cur


def _text(el: Any, *path: str) -> str | None:
    node = _find(el, *path) if path else el
    if node is None or node.text is None:
        return None
    t = str(node.text).strip()
    return t or None


def _kids(el: Any | None) -> list[Any]:
    return list(el) if el is not None else []


def _attr(el: Any | None, name: str) -> str | None:
    if el is None:
        return None
    v = el.get(name)
    return str(v) if v is not None else None


def _first(el: Any, *paths: tuple[str, ...]) -> str | None:
    for p in paths:
        t = _text(el, *p)
        if t is not None:
            return t
    return None


def _path(el: Any) -> str:
    parts: list[str] = []
    node = el
    while node is not None and isinstance(node.tag, str):
        name = _ln(node)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if _ln(c) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _bic(text: str | None) -> str | None:
    if not text:
        return None
    t = text.strip().upper()
    return t[:8] if len(t) == 11 and t.endswith("XXX") else t


def _agent(el: Any | None) -> str | None:
    """Bank id of a ``…Agt``/``Svcr`` element: BIC, else clearing member id, else name."""
    if el is None:
        return None
    fin = _find(el, "FinInstnId")
    if fin is None:
        return None
    return (
        _bic(_first(fin, ("BICFI",), ("BIC",)))
        or _first(fin, ("ClrSysMmbId", "MmbId"), ("Othr", "Id"))
        or _text(fin, "Nm")
    )


def _acct_number(el: Any | None) -> str | None:
    if el is None:
        return None
    v = _first(el, ("Id", "IBAN"), ("Id", "Othr", "Id"), ("Prxy", "Id"))
    return v.replace(" ", "").upper() if v else None


def _party(el: Any | None) -> dict[str, Any] | None:
    """Name, country and kind of a ``Dbtr``/``Cdtr`` (``Pty`` nested from version 8 on)."""
    if el is None:
        return None
    node = _find(el, "Pty") if _find(el, "Pty") is not None else el
    name = _text(node, "Nm")
    country = _first(node, ("PstlAdr", "Ctry"), ("CtryOfRes",))
    addr = _find(node, "PstlAdr")
    address = None
    if addr is not None:
        bits = [str(c.text).strip() for c in addr if isinstance(c.tag, str) and c.text and str(c.text).strip()]
        address = ", ".join(bits) or None
    schema = "LegalEntity"
    if _find(node, "Id", "PrvtId") is not None:
        schema = "Person"
    elif _find(node, "Id", "OrgId") is not None:
        schema = "Organization"
    if name is None and country is None:
        return None
    return {"name": name, "country": country.lower() if country else None, "address": address, "schema": schema}


class _Out:
    def __init__(self, path: Path, file_id: str) -> None:
        self.path = str(path)
        self.file_id = file_id
        self.txs: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.parties: dict[str, dict[str, Any]] = {}
        self.quarantine: list[dict[str, Any]] = []
        self.n = 0

    def side(
        self, bank: str | None, number: str | None, party: dict[str, Any] | None, role: str, location: str
    ) -> tuple[str, str, str | None]:
        """(bank, account_id, name) of one end; records its account and party."""
        name = party["name"] if party else None
        if number is None:
            if not name:
                raise Reject(f"{role}_account", location, "missing field")
            number = f"NAME/{name.upper()}"
        bank = bank or "UNKNOWN"
        acc = account_id(bank, number)
        owner = None
        if party is not None and name:
            owner = "iso-" + stable_id(name, acc)
            self.parties.setdefault(
                owner,
                {
                    "party_id": owner,
                    "schema": party["schema"],
                    "name": name,
                    "country": party["country"],
                    "address": party["address"],
                    "source_file_id": self.file_id,
                },
            )
        self.accounts.setdefault(
            acc,
            {
                "account_id": acc,
                "bank": bank,
                "account_number": number,
                "kind": "bank",
                "owner_party_id": owner,
                "source_file_id": self.file_id,
            },
        )
        return bank, acc, name

    def add_tx(
        self,
        tx_id: str,
        ts: Any,
        ends: tuple[str, str, str, str],
        received: tuple[Any, str | None],
        paid: tuple[Any, str | None],
        properties: dict[str, Any],
    ) -> None:
        """One wire transfer of this file (both messages map to the same transaction record)."""
        (fb, fa, tb, ta), (amount_received, rcur), (amount_paid, pcur) = ends, received, paid
        self.txs.append(
            {
                "tx_id": tx_id,
                "ts": ts,
                "from_bank": fb,
                "from_account": fa,
                "to_bank": tb,
                "to_account": ta,
                "amount_received": amount_received,
                "receiving_currency": rcur,
                "amount_paid": amount_paid,
                "payment_currency": pcur,
                "payment_format": "Wire",
                "is_laundering": None,
                "source_file_id": self.file_id,
                "source_row": self.n,
                "properties": dumps(properties),
            }
        )

    def reject(self, r: Reject, raw: Any) -> None:
        text = etree.tostring(raw, encoding="unicode") if raw is not None else None
        self.quarantine.append(
            {
                "path": self.path,
                "row_number": self.n,
                "location": r.location,
                "field": r.field,
                "reason": r.reason,
                "raw": text[:4000] if text else None,
            }
        )

    def batch(self) -> Batch:
        t, a, p, q = tables(self.txs, list(self.accounts.values()), list(self.parties.values()), self.quarantine)
        return Batch(t, q, self.n, accounts=a, parties=p)


def _parse(path: Path, fmt: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=True)
    try:
        tree = etree.parse(str(path), parser)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read: {exc}") from exc
    except etree.XMLSyntaxError as exc:
        raise UnreadableFileError(f"{path}: not well-formed XML ({exc})") from exc
    root_name = _ROOTS[fmt]
    for el in tree.getroot().iter():
        if _ln(el) == root_name:
            return el
    raise UnreadableFileError(f"{path}: no {root_name} element: not a {fmt[:4]}.{fmt[4:]} message")


def _pacs008(root: Any, out: _Out) -> None:
    hdr = _find(root, "GrpHdr")
    msg_id = _text(hdr, "MsgId") if hdr is not None else None
    instg = _agent(_find(hdr, "InstgAgt")) if hdr is not None else None
    instd = _agent(_find(hdr, "InstdAgt")) if hdr is not None else None
    hdr_date = _first(hdr, ("IntrBkSttlmDt",), ("CreDtTm",)) if hdr is not None else None
    prefix = tx_id_prefix(out.file_id)
    for tx in _children(root, "CdtTrfTxInf"):
        out.n += 1
        loc = _path(tx)
        try:
            settle = _find(tx, "IntrBkSttlmAmt")
            received = parse_amount(
                _text(settle) if settle is not None else None, "amount_received", f"{loc}/IntrBkSttlmAmt"
            )
            rcur = parse_currency(
                settle.get("Ccy") if settle is not None else None, "receiving_currency", f"{loc}/IntrBkSttlmAmt/@Ccy"
            )
            instd_amt = _find(tx, "InstdAmt")
            if instd_amt is not None:
                paid = parse_amount(_text(instd_amt), "amount_paid", f"{loc}/InstdAmt")
                pcur = parse_currency(instd_amt.get("Ccy"), "payment_currency", f"{loc}/InstdAmt/@Ccy")
            else:
                paid, pcur = received, rcur
            date = _first(tx, ("IntrBkSttlmDt",), ("AccptncDtTm",)) or hdr_date
            ts = parse_ts(date, "ts", f"{loc}/IntrBkSttlmDt")
            dbtr, cdtr = _party(_find(tx, "Dbtr")), _party(_find(tx, "Cdtr"))
            fb, fa, fname = out.side(
                _agent(_find(tx, "DbtrAgt")) or instg,
                _acct_number(_find(tx, "DbtrAcct")),
                dbtr,
                "from",
                f"{loc}/DbtrAcct",
            )
            tb, ta, tname = out.side(
                _agent(_find(tx, "CdtrAgt")) or instd,
                _acct_number(_find(tx, "CdtrAcct")),
                cdtr,
                "to",
                f"{loc}/CdtrAcct",
            )
        except Reject as r:
            out.reject(r, tx)
            continue
        uetr = _text(tx, "PmtId", "UETR")
        ref = _first(tx, ("PmtId", "TxId"), ("PmtId", "EndToEndId"), ("PmtId", "InstrId"))
        if uetr:
            tx_id = f"pacs008:{uetr.lower()}"
        elif ref and ref != "NOTPROVIDED":
            tx_id = f"pacs008:{instg or msg_id or ''}:{ref}"
        else:
            tx_id = f"{prefix}:{out.n}"
        charges = [(_text(c, "Amt"), _attr(_find(c, "Amt"), "Ccy")) for c in _children(tx, "ChrgsInf")]
        ustrd = [str(u.text).strip() for u in _kids(_find(tx, "RmtInf")) if _ln(u) == "Ustrd" and u.text]
        out.add_tx(
            tx_id,
            ts,
            (fb, fa, tb, ta),
            (received, rcur),
            (paid, pcur),
            {
                "message": "pacs.008",
                "msg_id": msg_id,
                "end_to_end_id": _text(tx, "PmtId", "EndToEndId"),
                "instr_id": _text(tx, "PmtId", "InstrId"),
                "tx_ref": _text(tx, "PmtId", "TxId"),
                "uetr": uetr,
                "debtor_name": fname,
                "creditor_name": tname,
                "debtor_country": dbtr["country"] if dbtr else None,
                "creditor_country": cdtr["country"] if cdtr else None,
                "remittance": " ".join(ustrd) or None,
                "purpose": _text(tx, "Purp", "Cd"),
                "charge_bearer": _text(tx, "ChrgBr"),
                "charges": [{"amount": a, "currency": c} for a, c in charges if a],
            },
        )


def _camt053(root: Any, out: _Out) -> None:
    prefix = tx_id_prefix(out.file_id)
    for stmt in _children(root, "Stmt"):
        acct = _find(stmt, "Acct")
        sloc = _path(stmt)
        own_number = _acct_number(acct)
        own_bank = _agent(_find(acct, "Svcr")) if acct is not None else None
        owner_name = _first(acct, ("Ownr", "Nm"), ("Ownr", "Pty", "Nm")) if acct is not None else None
        for ntry in _children(stmt, "Ntry"):
            nloc = _path(ntry)
            details = [d for nd in _children(ntry, "NtryDtls") for d in _children(nd, "TxDtls")]
            records = details or [None]
            for k, d in enumerate(records, 1):
                out.n += 1
                loc = _path(d) if d is not None else nloc
                try:
                    if own_number is None:
                        raise Reject("account", f"{sloc}/Acct/Id", "missing field")
                    eamt = _find(ntry, "Amt")
                    own_amt = parse_amount(_text(eamt) if eamt is not None else None, "amount", f"{nloc}/Amt")
                    own_cur = parse_currency(
                        eamt.get("Ccy") if eamt is not None else None, "currency", f"{nloc}/Amt/@Ccy"
                    )
                    ind = (_text(d, "CdtDbtInd") if d is not None else None) or _text(ntry, "CdtDbtInd")
                    if ind not in ("CRDT", "DBIT"):
                        raise Reject("direction", f"{nloc}/CdtDbtInd", f"bad credit/debit indicator: {ind}")
                    date = _first(ntry, ("BookgDt", "DtTm"), ("BookgDt", "Dt"), ("ValDt", "DtTm"), ("ValDt", "Dt"))
                    ts = parse_ts(date, "ts", f"{nloc}/BookgDt")
                    cp_amt, cp_cur = own_amt, own_cur
                    if d is not None:
                        tamt = None
                        for p in (("Amt",), ("AmtDtls", "InstdAmt", "Amt"), ("AmtDtls", "TxAmt", "Amt")):
                            tamt = _find(d, *p)
                            if tamt is not None:
                                break
                        if tamt is not None:
                            v = parse_amount(_text(tamt), "amount", _path(tamt))
                            c = parse_currency(tamt.get("Ccy"), "currency", _path(tamt) + "/@Ccy")
                            if v > 0:
                                cp_amt, cp_cur = v, c
                        elif len(records) > 1:
                            raise Reject("amount", f"{loc}/Amt", "missing field")
                        if len(records) > 1:  # a batch: each detail is booked for its own amount
                            own_amt, own_cur = cp_amt, cp_cur
                    credit = ind == "CRDT"
                    role = "Dbtr" if credit else "Cdtr"
                    cparty = _party(_find(d, "RltdPties", role)) if d is not None else None
                    cacct = _acct_number(_find(d, "RltdPties", f"{role}Acct")) if d is not None else None
                    cbank = _agent(_find(d, "RltdAgts", f"{role}Agt")) if d is not None else None
                    unknown = cparty is None and cacct is None
                    if unknown:  # a batch without details, or a detail without counterparty
                        btch = _first(ntry, ("NtryDtls", "Btch", "PmtInfId"), ("NtryDtls", "Btch", "MsgId"))
                        cacct = "UNKNOWN/" + (
                            btch or _first(ntry, ("AcctSvcrRef",), ("NtryRef",)) or f"{prefix}:{out.n}"
                        )
                    own_party = {"name": owner_name, "country": None, "address": None, "schema": "LegalEntity"}
                    ob, oa, _ = out.side(own_bank, own_number, own_party if owner_name else None, "statement", sloc)
                    cb, ca, cname = out.side(cbank, cacct, cparty, "counterparty", f"{loc}/RltdPties/{role}Acct")
                except Reject as r:
                    out.reject(r, d if d is not None else ntry)
                    continue
                reversal = (_text(ntry, "RvslInd") or "").lower() in ("true", "1")
                ref = (
                    _first(d, ("Refs", "AcctSvcrRef"), ("Refs", "EndToEndId"), ("Refs", "TxId"))
                    if d is not None
                    else None
                )
                eref = _first(ntry, ("AcctSvcrRef",), ("NtryRef",))
                key = eref or ref
                if key:
                    tx_id = f"camt053:{oa}:{key}" + (f":{k}" if len(records) > 1 else "") + (":rev" if reversal else "")
                else:
                    tx_id = f"{prefix}:{out.n}"
                charges = [
                    (_text(c, "Amt"), _attr(_find(c, "Amt"), "Ccy"))
                    for src in ([ntry] + ([d] if d is not None else []))
                    for ch in _children(src, "Chrgs")
                    for c in (list(_children(ch, "Rcrd")) or [ch])
                ]
                ustrd = [
                    str(u.text).strip()
                    for u in _kids(_find(d, "RmtInf") if d is not None else None)
                    if _ln(u) == "Ustrd" and u.text
                ]
                if credit:
                    fb, fa, tb, ta = cb, ca, ob, oa
                    paid, pcur, received, rcur = cp_amt, cp_cur, own_amt, own_cur
                else:
                    fb, fa, tb, ta = ob, oa, cb, ca
                    paid, pcur, received, rcur = own_amt, own_cur, cp_amt, cp_cur
                out.add_tx(
                    tx_id,
                    ts,
                    (fb, fa, tb, ta),
                    (received, rcur),
                    (paid, pcur),
                    {
                        "message": "camt.053",
                        "statement_id": _text(stmt, "Id"),
                        "entry_ref": eref,
                        "end_to_end_id": _text(d, "Refs", "EndToEndId") if d is not None else None,
                        "direction": ind,
                        "reversal": reversal or None,
                        "status": _first(ntry, ("Sts", "Cd"), ("Sts",)),
                        "batch": len(records) > 1 or _find(ntry, "NtryDtls", "Btch") is not None or None,
                        "counterparty_name": cname,
                        "counterparty_unknown": unknown or None,
                        "bank_tx_code": _first(ntry, ("BkTxCd", "Domn", "Cd"), ("BkTxCd", "Prtry", "Cd")),
                        "remittance": " ".join(ustrd) or None,
                        "charges": [{"amount": a, "currency": c} for a, c in charges if a],
                    },
                )


def read_iso20022(path: Path, fmt: str, file_id: str) -> Batch:
    """Read a pacs.008 (``fmt='pacs008'``) or camt.053 (``fmt='camt053'``) file."""
    root = _parse(path, fmt)
    out = _Out(path, file_id)
    (_pacs008 if fmt == "pacs008" else _camt053)(root, out)
    return out.batch()
