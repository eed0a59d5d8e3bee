"""Grade flagged transactions or accounts against a world's truth.

The answers file is a CSV with a header and at least one of the columns:

* ``tx_row``: a 1-based data row number of ``transactions.csv`` (the header is row 0);
* ``account``: an account as ``bank:account`` (e.g. ``010:8000EBD30``);

and optionally ``vector`` (the vector the answer attributes the row or account to, for per-vector
precision). Rows may fill either column or both; empty cells are ignored.

Scores: precision, recall and F1 over transactions (every illicit row, typed or untyped) and over
accounts (the accounts each scheme controls, as listed in truth.json); per scheme, the share of its
rows and accounts flagged and whether it was detected at all (at least one of its rows or accounts
flagged); per vector the same, and which schemes were missed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv

from filiere.errors import UserInputError


def _prf(tp: int, flagged: int, truth: int) -> dict[str, Any]:
    p = tp / flagged if flagged else 0.0
    r = tp / truth if truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "flagged": flagged,
        "truth": truth,
        "true_positives": tp,
        "precision": round(p, 6),
        "recall": round(r, 6),
        "f1": round(f1, 6),
    }


def load_truth(truth: Path) -> dict[str, Any]:
    path = truth / "truth.json" if truth.is_dir() else truth
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(
            f"{path}: no truth.json here (generate a world with `filiere scenario generate`)"
        ) from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path}: not valid JSON ({exc})") from None
    if "schemes" not in doc:
        raise UserInputError(f"{path}: not a scenario truth file (no 'schemes')")
    return doc


def _read_answers(path: Path, n_rows: int) -> tuple[set[int] | None, set[str] | None, dict[int, str], dict[str, str]]:
    if not path.exists():
        raise UserInputError(f"{path}: answers file not found")
    try:
        table = pv.read_csv(
            path,
            convert_options=pv.ConvertOptions(
                column_types={"tx_row": pa.string(), "account": pa.string(), "vector": pa.string()},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UserInputError(f"{path}: cannot read answers CSV ({exc})") from None
    cols = set(table.column_names)
    if not cols & {"tx_row", "account"}:
        raise UserInputError(
            f"{path}: answers need a 'tx_row' and/or an 'account' column (found: {', '.join(sorted(cols))})"
        )
    vec = table.column("vector").to_pylist() if "vector" in cols else [None] * table.num_rows
    rows: set[int] | None = None
    accounts: set[str] | None = None
    row_vec: dict[int, str] = {}
    acc_vec: dict[str, str] = {}
    if "tx_row" in cols:
        rows = set()
        for i, v in enumerate(table.column("tx_row").to_pylist()):
            if v is None or not v.strip():
                continue
            try:
                r = int(v)
            except ValueError:
                raise UserInputError(f"{path}: line {i + 2}, field tx_row: {v!r} is not a row number") from None
            if not 1 <= r <= n_rows:
                raise UserInputError(f"{path}: line {i + 2}, field tx_row: {r} is outside 1..{n_rows}")
            rows.add(r)
            if vec[i]:
                row_vec[r] = str(vec[i])
    if "account" in cols:
        accounts = set()
        for i, v in enumerate(table.column("account").to_pylist()):
            if v is None or not v.strip():
                continue
            a = v.strip()
            if ":" not in a:
                raise UserInputError(f"{path}: line {i + 2}, field account: {a!r} is not 'bank:account'")
            accounts.add(a)
            if vec[i]:
                acc_vec[a] = str(vec[i])
    return rows, accounts, row_vec, acc_vec


def grade(truth_dir: Path, answers_path: Path) -> dict[str, Any]:
    truth = load_truth(Path(truth_dir))
    rows, accounts, row_vec, acc_vec = _read_answers(Path(answers_path), int(truth["rows"]))
    schemes = truth["schemes"]
    row_scheme: dict[int, dict[str, Any]] = {}
    acc_truth: dict[str, set[str]] = {}
    for s in schemes:
        for r in s["rows"]:
            row_scheme[r] = s
        for a in s["accounts"]:
            acc_truth.setdefault(a, set()).add(s["vector"])
    out: dict[str, Any] = {
        "truth": {"rows": truth["rows"], "illicit_rows": len(row_scheme), "accounts": len(acc_truth)}
    }
    if rows is not None:
        out["transactions"] = _prf(len(rows & row_scheme.keys()), len(rows), len(row_scheme))
    if accounts is not None:
        out["accounts"] = _prf(len(accounts & acc_truth.keys()), len(accounts), len(acc_truth))

    per_scheme = []
    for s in schemes:
        srows, saccs = set(s["rows"]), set(s["accounts"])
        rf = len(srows & rows) if rows is not None else None
        af = len(saccs & accounts) if accounts is not None else None
        per_scheme.append(
            {
                "id": s["id"],
                "pattern": s["pattern"],
                "vector": s["vector"],
                "typed": s["typed"],
                "parent": s.get("parent"),
                "rows": len(srows),
                "rows_flagged": rf,
                "row_recall": round(rf / len(srows), 6) if rf is not None and srows else None,
                "accounts": len(saccs),
                "accounts_flagged": af,
                "account_recall": round(af / len(saccs), 6) if af is not None and saccs else None,
                "detected": bool(rf) or bool(af),
            }
        )
    out["schemes"] = per_scheme

    vectors: dict[str, dict[str, Any]] = {}
    for s, g in zip(schemes, per_scheme, strict=True):
        v = vectors.setdefault(
            s["vector"],
            {"schemes": 0, "detected": 0, "rows": 0, "rows_flagged": 0, "accounts": set(), "accounts_flagged": set()},
        )
        v["schemes"] += 1
        v["detected"] += int(g["detected"])
        v["rows"] += g["rows"]
        v["rows_flagged"] += g["rows_flagged"] or 0
        v["accounts"].update(s["accounts"])
        if accounts is not None:
            v["accounts_flagged"].update(set(s["accounts"]) & accounts)
    for name, v in vectors.items():
        n_acc, n_accf = len(v.pop("accounts")), len(v.pop("accounts_flagged"))
        v["row_recall"] = round(v["rows_flagged"] / v["rows"], 6) if rows is not None and v["rows"] else None
        v["accounts"] = n_acc
        v["account_recall"] = round(n_accf / n_acc, 6) if accounts is not None and n_acc else None
        # per-vector precision needs the answer's own attribution (column 'vector')
        claimed_rows = [r for r, cv in row_vec.items() if cv == name]
        claimed_accs = [a for a, cv in acc_vec.items() if cv == name]
        v["row_precision"] = (
            round(
                sum(1 for r in claimed_rows if r in row_scheme and row_scheme[r]["vector"] == name) / len(claimed_rows),
                6,
            )
            if claimed_rows
            else None
        )
        v["account_precision"] = (
            round(sum(1 for a in claimed_accs if name in acc_truth.get(a, ())) / len(claimed_accs), 6)
            if claimed_accs
            else None
        )
        for kind in ("row", "account"):
            p, r = v[f"{kind}_precision"], v[f"{kind}_recall"]
            v[f"{kind}_f1"] = round(2 * p * r / (p + r), 6) if p is not None and r is not None and p + r else None
    out["vectors"] = dict(sorted(vectors.items()))
    typed = [g for g in per_scheme if g["typed"]]
    out["schemes_total"] = len(typed)
    out["schemes_detected"] = sum(1 for g in typed if g["detected"])
    out["missed"] = [
        {"id": g["id"], "pattern": g["pattern"], "vector": g["vector"]} for g in typed if not g["detected"]
    ]
    out["untyped_missed"] = [g["id"] for g in per_scheme if not g["typed"] and not g["detected"]]
    return out
