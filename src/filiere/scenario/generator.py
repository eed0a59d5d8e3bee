"""Generate a world and write it: transactions.csv, accounts.csv, patterns.txt (AMLworld formats),
parties.ftm.jsonl (FollowTheMoney entities) and truth.json (the hidden schemes).

Same template, rows and seed give byte-identical files. Rows are formatted column-wise with Arrow
compute kernels and written in chunks; no per-row Python touches the background.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.model.currencies import NAME_TO_CODE
from filiere.scenario.background import Background, Flows, formats_for
from filiere.scenario.schemes import Builder, Scheme, add_schemes
from filiere.scenario.templates import get_template
from filiere.scenario.world import FORMATS, FTM_SCHEMA, KINDS, World, build_world

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
ACCOUNTS_HEADER = "Bank Name,Bank ID,Account Number,Entity ID,Entity Name"
CHUNK = 500_000
_KIND_LABEL = {
    "person": "person",
    "company": "company",
    "shop": "shop",
    "pharmacy": "pharmacy",
    "importer": "import-export trading company",
    "npo": "non-profit organisation",
    "mt_agent": "money-transfer agent",
    "mm_agent": "mobile-money agent",
    "exchange": "crypto exchange",
    "art_dealer": "art and antiquities dealer",
    "utility": "utility",
    "lender": "consumer lender",
}


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    template: str
    seed: int
    rows: int
    illicit_rows: int
    typed_rows: int
    untyped_rows: int
    schemes: int
    accounts: int
    entities: int
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "template": self.template,
            "seed": self.seed,
            "rows": self.rows,
            "illicit_rows": self.illicit_rows,
            "typed_rows": self.typed_rows,
            "untyped_rows": self.untyped_rows,
            "schemes": self.schemes,
            "accounts": self.accounts,
            "entities": self.entities,
            "seconds": round(self.seconds, 3),
            "files": {k: str(v) for k, v in self.files.items()},
        }


@dataclass
class Rows:
    """All rows of the world as columns, in generation order."""

    t: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    paid: np.ndarray  # integer units (cents, or 1e-6 bitcoin)
    recv: np.ndarray
    fmt: np.ndarray
    label: np.ndarray


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._p: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._p.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.__exit__(None, None, None)

    @contextmanager
    def step(self, description: str, total: int = 1) -> Iterator[Any]:
        if self._p is None:
            yield lambda n=1: None
            return
        task = self._p.add_task(description, total=total)
        yield lambda n=1: self._p.advance(task, n)
        self._p.update(task, completed=total)


class _HashingWriter:
    """A binary file that also hashes what is written (the ingest's file id is its sha256)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.h = hashlib.sha256()

    def write(self, data: Any) -> int:
        self.h.update(data)
        return int(self.f.write(data))


def default_shared_data() -> Path:
    """The shared reference data as the settings find it (``FILIERE_SHARED_DATA`` or ``../shared/data``)."""
    from filiere.config import Settings

    return Settings().shared_data_dir()


def generate(
    template: str,
    rows: int,
    seed: int,
    out: Path,
    *,
    progress: bool = False,
    vectors: bool | None = None,
    shared_data: Path | None = None,
) -> GenerateResult:
    """Generate a world of ``rows`` transactions with ``template`` and ``seed`` into folder ``out``.

    ``vectors`` (default: the template's; on for ``sahel``) also writes the crime-vector files
    (art_offers.csv, trade.csv, trade_parties.csv, crypto_tags.yaml, see
    :mod:`filiere.scenario.vectors`); their stolen-art records come from ``shared_data``'s FBI file
    when present (default: the settings' shared data folder), else from the sample filiere ships.
    """
    if rows < 100:
        raise UserInputError(f"--rows must be at least 100 (got {rows})")
    tpl = get_template(template)
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _Progress(progress) as prog:
        with prog.step("population"):
            world = build_world(tpl, rows, seed, vectors=vectors)
        with prog.step("schemes"):
            b = Builder(world, seed)
            art_src = None
            if world.vectors:
                from filiere.scenario.vectors import prepare

                art_src = prepare(b, seed, shared_data if shared_data is not None else default_shared_data())
            add_schemes(b, round(rows * tpl.illicit_ratio), tpl.untyped_share)
            world.apply_account_overrides()
        n_s = b.size()
        with prog.step("background"):
            bg = Background(world, np.random.default_rng(np.random.SeedSequence([seed, 5])))
            flows = bg.build(max(0, rows - n_s))
        all_rows = _assemble(world, b, flows, seed)
        del flows
        # output order: roughly by time but not sorted (as AMLworld)
        jitter = np.random.default_rng(np.random.SeedSequence([seed, 9])).integers(0, 360, len(all_rows.t))
        order = np.argsort(all_rows.t + jitter, kind="stable")
        row_of = np.empty_like(order)
        row_of[order] = np.arange(len(order))
        files = {
            "transactions": out / "transactions.csv",
            "accounts": out / "accounts.csv",
            "patterns": out / "patterns.txt",
            "parties": out / "parties.ftm.jsonl",
            "truth": out / "truth.json",
        }
        fmt = _Formatter(world)
        n = len(order)
        with prog.step("transactions.csv", total=max(1, n)) as advance, files["transactions"].open("wb") as raw:
            f = _HashingWriter(raw)
            f.write((HEADER + "\n").encode())
            for lo in range(0, n, CHUNK):
                sel = order[lo : lo + CHUNK]
                _write_lines(f, fmt.lines(all_rows, sel))
                advance(len(sel))
        vector_truth: dict[str, Any] | None = None
        if art_src is not None:
            with prog.step("art offers, trade, crypto tags"):
                from filiere.scenario.vectors import write_vector_files

                # transaction ids as `filiere ingest` gives them: the file's sha256 prefix and the row
                vfiles, vector_truth = write_vector_files(
                    out, world, b, all_rows, row_of, f.h.hexdigest()[:8], rows, seed, art_src
                )
                files.update(vfiles)
        with prog.step("accounts, parties, patterns, truth"):
            _write_accounts(files["accounts"], world)
            _write_parties(files["parties"], world)
            _write_patterns(files["patterns"], b.schemes, all_rows, fmt)
            summary = _write_truth(files["truth"], world, b, all_rows, row_of, rows, seed, vector_truth)
    return GenerateResult(
        out=out,
        template=tpl.name,
        seed=seed,
        rows=n,
        illicit_rows=summary["illicit_rows"],
        typed_rows=summary["typed_rows"],
        untyped_rows=summary["untyped_rows"],
        schemes=len(b.schemes),
        accounts=world.n_accounts,
        entities=len(world.ent_kind),
        seconds=time.perf_counter() - t_start,
        files=files,
    )


def _assemble(world: World, b: Builder, flows: Flows, seed: int) -> Rows:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    s_src = np.array(b.src, dtype=np.int32)
    s_dst = np.array(b.dst, dtype=np.int32)
    s_fmt = np.array(b.fmt, dtype=np.int8)
    missing = s_fmt < 0
    if missing.any():
        s_fmt[missing] = formats_for(world, s_src[missing], s_dst[missing], rng)
    t = np.concatenate([np.array(b.t, dtype=np.int64), flows.t])
    src = np.concatenate([s_src, flows.src])
    dst = np.concatenate([s_dst, flows.dst])
    usd = np.concatenate([np.array(b.usd, dtype=np.float64), flows.usd])
    fmt = np.concatenate([s_fmt, flows.fmt])
    rnd = np.concatenate([np.array(b.rnd, dtype=bool), flows.round_amount])
    label = np.concatenate([np.array(b.label, dtype=bool), np.zeros(len(flows), dtype=bool)])
    t = np.clip(t, 0, world.days * 1440 - 1)
    day = t // 1440
    cur_s = world.acc_currency[src]
    cur_d = world.acc_currency[dst]
    rate_s = world.rates[cur_s, day]
    rate_d = world.rates[cur_d, day]
    local = usd * rate_s
    # round amounts: two significant digits (e.g. 9,500 or 150,000), whole units below 100
    mag = np.floor(np.log10(np.maximum(local, 1e-9)))
    step = np.where(local >= 100, 10.0 ** np.maximum(mag - 1, 0), 1.0)
    local = np.where(rnd & (local >= 1), np.round(local / step) * step, local)
    btc = world.currencies.index("Bitcoin")
    scale_s = np.where(cur_s == btc, 1e6, 100.0)
    scale_d = np.where(cur_d == btc, 1e6, 100.0)
    paid = np.maximum(1, np.rint(local * scale_s)).astype(np.int64)
    same = cur_s == cur_d
    recv = np.where(same, paid, np.maximum(1, np.rint(local / rate_s * rate_d * scale_d)).astype(np.int64))
    return Rows(t, src, dst, paid, recv, fmt, label)


class _Formatter:
    """Formats rows as AMLworld CSV lines with Arrow kernels."""

    def __init__(self, world: World) -> None:
        w = world
        self.w = w
        self.days = pa.array([(w.start + timedelta(days=d)).strftime("%Y/%m/%d") for d in range(w.days)])
        self.hm = pa.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)])
        self.acc_bank_id = w.bank_id.take(pa.array(w.acc_bank))
        self.cur_names = pa.array(w.currencies)
        self.btc = w.currencies.index("Bitcoin")
        self.fmt_names = pa.array(list(FORMATS))
        self.labels = pa.array(["0", "1"])

    def _amount(self, units: np.ndarray, cur: np.ndarray) -> pa.Array:
        is_btc = cur == self.btc
        scale = np.where(is_btc, 1_000_000, 100)
        whole = pc.cast(pa.array(units // scale), pa.string())
        frac = units % scale
        f2 = pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), 2, "0")
        f6 = pc.utf8_lpad(pc.cast(pa.array(frac), pa.string()), 6, "0")
        return pc.binary_join_element_wise(whole, pc.if_else(pa.array(is_btc), f6, f2), ".")

    def lines(self, r: Rows, sel: np.ndarray) -> pa.Array:
        w = self.w
        t = r.t[sel]
        src = pa.array(r.src[sel])
        dst = pa.array(r.dst[sel])
        cur_s = w.acc_currency[r.src[sel]]
        cur_d = w.acc_currency[r.dst[sel]]
        ts = pc.binary_join_element_wise(self.days.take(pa.array(t // 1440)), self.hm.take(pa.array(t % 1440)), " ")
        cols = [
            ts,
            self.acc_bank_id.take(src),
            w.acc_number.take(src),
            self.acc_bank_id.take(dst),
            w.acc_number.take(dst),
            self._amount(r.recv[sel], cur_d),
            self.cur_names.take(pa.array(cur_d)),
            self._amount(r.paid[sel], cur_s),
            self.cur_names.take(pa.array(cur_s)),
            self.fmt_names.take(pa.array(r.fmt[sel])),
            self.labels.take(pa.array(r.label[sel].astype(np.int8))),
        ]
        return pc.binary_join_element_wise(*cols, ",")


def _write_lines(f: Any, arr: pa.Array) -> None:
    """Write a string array as newline-terminated lines straight from its Arrow buffer."""
    if len(arr) == 0:
        return
    arr = pc.binary_join_element_wise(arr, pa.scalar(""), "\n")
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = arr.buffers()[2]
    assert data is not None
    f.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


def _entity_names(world: World) -> pa.Array:
    names = world.ent_name
    if world.overrides:
        idx = sorted(e for e, ov in world.overrides.items() if "name" in ov)
        if idx:
            mask = np.zeros(len(names), dtype=bool)
            mask[idx] = True
            names = pc.replace_with_mask(names, pa.array(mask), pa.array([world.overrides[e]["name"] for e in idx]))
    return names


def _write_accounts(path: Path, world: World) -> None:
    w = world
    names = _entity_names(w)
    acc = pa.array(w.acc_entity)
    with path.open("wb") as f:
        f.write((ACCOUNTS_HEADER + "\n").encode())
        for lo in range(0, w.n_accounts, CHUNK):
            sl = slice(lo, lo + CHUNK)
            bank = pa.array(w.acc_bank[sl])
            line = pc.binary_join_element_wise(
                w.bank_name.take(bank),
                w.bank_id.take(bank),
                w.acc_number[sl],
                w.ent_id.take(acc[sl]),
                pc.replace_substring(names.take(acc[sl]), ",", " "),
                ",",
            )
            _write_lines(f, line)


def _q(arr: pa.Array) -> pa.Array:
    """JSON-escape a string column (quotes and backslashes)."""
    return pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')


def _write_parties(path: Path, world: World) -> None:
    """FollowTheMoney entities: people and organisations, their bank accounts, and ownerships."""
    w = world
    n = len(w.ent_kind)
    kind = w.ent_kind
    schema = pa.array([FTM_SCHEMA[k] for k in KINDS]).take(pa.array(kind))
    cc = pa.array([c.lower() for c in w.countries]).take(pa.array(w.ent_country.astype(np.int64)))
    town = pa.array(w.towns).take(pa.array(w.ent_town))
    cname = pa.array(w.country_names).take(pa.array(w.ent_country.astype(np.int64)))
    address = pc.binary_join_element_wise(town, cname, ", ")
    desc = pa.array([_KIND_LABEL[k] for k in KINDS]).take(pa.array(kind))
    is_person = pa.array(kind == 0)
    person_part = pc.binary_join_element_wise(
        pa.scalar('"firstName":["'),
        _q(w.ent_first),
        pa.scalar('"],"lastName":["'),
        _q(w.ent_last),
        pa.scalar('"],"birthDate":["'),
        w.ent_birth,
        pa.scalar('"],"nationality":["'),
        cc,
        pa.scalar('"],'),
        "",
    )
    org_part = pc.binary_join_element_wise(
        pa.scalar('"incorporationDate":["'),
        w.ent_birth,
        pa.scalar('"],"jurisdiction":["'),
        cc,
        pa.scalar('"],"description":["'),
        desc,
        pa.scalar('"],'),
        "",
    )
    line = pc.binary_join_element_wise(
        pa.scalar('{"id":"'),
        w.ent_id,
        pa.scalar('","schema":"'),
        schema,
        pa.scalar('","properties":{"name":["'),
        _q(w.ent_name),
        pa.scalar('"],'),
        pc.if_else(is_person, person_part, org_part),
        pa.scalar('"country":["'),
        cc,
        pa.scalar('"],"address":["'),
        _q(address),
        pa.scalar('"],"phone":["'),
        w.ent_phone,
        pa.scalar('"],"email":["'),
        w.ent_email,
        pa.scalar('"]}}'),
        "",
    )
    if w.overrides:
        idx = sorted(w.overrides)
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        repl = []
        for e in idx:
            obj = json.loads(line[e].as_py())
            for k, v in w.overrides[e].items():
                if v:
                    obj["properties"][k] = [v]
                else:
                    obj["properties"].pop(k, None)
            repl.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
        line = pc.replace_with_mask(line, pa.array(mask), pa.array(repl))
    codes = pa.array([NAME_TO_CODE[c] for c in w.currencies])
    with path.open("wb") as f:
        _write_lines(f, line)
        for lo in range(0, w.n_accounts, CHUNK):
            sl = slice(lo, lo + CHUNK)
            bank = pa.array(w.acc_bank[sl])
            bid = w.bank_id.take(bank)
            num = w.acc_number[sl]
            acct_id = pc.binary_join_element_wise(pa.scalar("acct-"), bid, pa.scalar("-"), num, "")
            bcc = pa.array([c.lower() for c in w.countries]).take(
                pa.array(w.bank_country[w.acc_bank[sl]].astype(np.int64))
            )
            acct = pc.binary_join_element_wise(
                pa.scalar('{"id":"'),
                acct_id,
                pa.scalar('","schema":"BankAccount","properties":{"accountNumber":["'),
                num,
                pa.scalar('"],"bankName":["'),
                w.bank_name.take(bank),
                pa.scalar('"],"currency":["'),
                codes.take(pa.array(w.acc_currency[sl])),
                pa.scalar('"],"country":["'),
                bcc,
                pa.scalar('"]}}'),
                "",
            )
            own = pc.binary_join_element_wise(
                pa.scalar('{"id":"own-'),
                bid,
                pa.scalar("-"),
                num,
                pa.scalar('","schema":"Ownership","properties":{"owner":["'),
                w.ent_id.take(pa.array(w.acc_entity[sl])),
                pa.scalar('"],"asset":["'),
                acct_id,
                pa.scalar('"]}}'),
                "",
            )
            if w.vectors and w.acc_btc[sl].any():
                # on-chain bitcoin accounts are FtM CryptoWallets held by their owner (no Ownership)
                wallet = pa.array(w.acc_btc[sl])
                cw = pc.binary_join_element_wise(
                    pa.scalar('{"id":"'),
                    acct_id,
                    pa.scalar('","schema":"CryptoWallet","properties":{"publicKey":["'),
                    num,
                    pa.scalar('"],"currencySymbol":["BTC"],"holder":["'),
                    w.ent_id.take(pa.array(w.acc_entity[sl])),
                    pa.scalar('"]}}'),
                    "",
                )
                acct = pc.if_else(wallet, cw, acct)
                own = own.filter(pc.invert(wallet))
            _write_lines(f, acct)
            _write_lines(f, own)


def _write_patterns(path: Path, schemes: list[Scheme], rows: Rows, fmt: _Formatter) -> None:
    with path.open("wb") as f:
        for s in schemes:
            if not s.typed or not s.edges:
                continue
            idx = np.array(s.edges, dtype=np.int64)
            idx = idx[np.argsort(rows.t[idx], kind="stable")]
            f.write(f"BEGIN LAUNDERING ATTEMPT - {s.header}\n".encode())
            _write_lines(f, fmt.lines(rows, idx))
            f.write(f"END LAUNDERING ATTEMPT - {s.pattern}\n\n".encode())


def _ts(world: World, minute: int) -> str:
    # world.start is a date: date + timedelta drops the minutes
    return (datetime.combine(world.start, datetime.min.time()) + timedelta(minutes=int(minute))).strftime(
        "%Y-%m-%dT%H:%M"
    )


def _write_truth(
    path: Path,
    world: World,
    b: Builder,
    rows: Rows,
    row_of: np.ndarray,
    asked: int,
    seed: int,
    vectors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    schemes = []
    typed_rows = untyped_rows = 0
    for s in b.schemes:
        member = [int(row_of[i]) + 1 for i in s.edges]  # in the scheme's own order (chains hop by hop)
        times = [int(rows.t[i]) for i in s.edges]
        if s.typed:
            typed_rows += len(member)
        else:
            untyped_rows += len(member)
        schemes.append(
            {
                "id": s.id,
                "pattern": s.pattern,
                "detail": s.detail,
                "typology": s.typology,
                "vector": s.vector,
                "typed": s.typed,
                "parent": s.parent,
                "rows": member,
                "context_rows": sorted(int(row_of[i]) + 1 for i in s.context),
                "accounts": [world.account_label(a) for a in s.accounts],
                "holding_accounts": [world.account_label(a) for a in s.holding],
                "parties": [world.entity_label(e) for e in s.parties],
                "sanctioned": s.sanctioned,
                "start": _ts(world, min(times)) if times else None,
                "end": _ts(world, max(times)) if times else None,
                "notes": s.notes,
            }
        )
    illicit = int(rows.label.sum())
    doc = {
        "format": "filiere-scenario-truth/1",
        "template": world.template.name,
        "seed": seed,
        "rows": len(rows.t),
        "rows_requested": asked,
        "illicit_rows": illicit,
        "typed_rows": typed_rows,
        "untyped_rows": untyped_rows,
        "start": world.start.isoformat(),
        "days": world.days,
        "cash_threshold_usd": world.template.cash_threshold_usd,
        "accounts": world.n_accounts,
        "entities": len(world.ent_kind),
        "schemes": schemes,
    }
    if vectors is not None:
        doc["vectors"] = vectors
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return doc
