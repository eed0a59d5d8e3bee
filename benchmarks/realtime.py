"""Real-time service: sustained throughput and latency on loopback, and a SIGKILL fault test.

    python benchmarks/realtime.py                       # defaults: 20k-row world, 20 s per phase
    python benchmarks/realtime.py --rows 5000 --single 2000 --batches 50 --seconds 5   # CI size

Prepares a workspace (``filiere.scenario.generate`` world, ingested, model trained), starts
``python -m filiere.realtime`` on 127.0.0.1 in a subprocess and drives it from a separate process
(raw asyncio HTTP/1.1 keep-alive client, closed loop, ``--connections`` connections) with a
bounded load: at most ``--single`` single-transaction requests / ``--batches`` requests of 100, and
at most ``--seconds`` per phase. Latency is per request, measured by the client (send → whole
answer). The fault phase posts batches, kills the server with SIGKILL mid-load, restarts it
(restart time = process start → ready, log replay included), and checks that every acknowledged
transaction is stored exactly once and that the streaming features of a probe transaction equal
those of a clean replay of the store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


# ----------------------------------------------------------------------------- load generator
def read_replay(path: str | Path) -> list[dict[str, Any]]:
    """The held-out payments of the world (AMLworld CSV rows after the training rows, time order):
    real counterpart pairs, amounts, currencies and formats, as the model will meet them."""
    import csv

    out: list[dict[str, Any]] = []
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        for r in rows:
            out.append(
                {
                    "from_bank": r[1],
                    "from_account": r[2],
                    "to_bank": r[3],
                    "to_account": r[4],
                    "amount": float(r[5]),
                    "currency": r[6],
                    "amount_paid": float(r[7]),
                    "payment_currency": r[8],
                    "payment_format": r[9],
                }
            )
    return out


def _bodies(
    accounts: list[tuple[str, str]],
    start_us: int,
    prefix: str,
    n: int,
    per: int,
    seed: int,
    gap_us: int = 10_000,
    replay: list[dict[str, Any]] | None = None,
    offset: int = 0,
) -> list[bytes]:
    """``n`` request bodies of ``per`` payments, event time ``gap_us`` apart from ``start_us``. With
    ``replay`` (see :func:`read_replay`), the payments are the world's held-out rows from ``offset``
    on (wrapping around); otherwise random pairs of ``accounts`` with random amounts (fault test)."""
    rng = np.random.default_rng(seed)
    fmts = ["Wire", "ACH", "Cheque", "Credit Card", "Cash"]
    out: list[bytes] = []
    k = 0
    for _ in range(n):
        items = []
        for _ in range(per):
            ts = start_us + k * gap_us
            head = {
                "id": f"{prefix}{k}",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1e6)) + f".{ts % 1_000_000:06d}",
            }
            if replay:
                items.append({**head, **replay[(offset + k) % len(replay)]})
            else:
                a, b = rng.choice(len(accounts), 2, replace=False)
                items.append(
                    {
                        **head,
                        "from_bank": accounts[a][0],
                        "from_account": accounts[a][1],
                        "to_bank": accounts[b][0],
                        "to_account": accounts[b][1],
                        "amount": round(float(np.exp(rng.normal(6.5, 1.3))), 2),
                        "currency": "USD",
                        "payment_format": fmts[int(rng.integers(0, len(fmts)))],
                    }
                )
            k += 1
        out.append(json.dumps(items if per > 1 else items[0]).encode())
    return out


async def _drive(
    port: int,
    token: str,
    bodies: list[bytes],
    connections: int,
    seconds: float,
    acked_path: str | None,
    pipeline: int = 1,
) -> dict[str, Any]:
    lat: list[float] = []
    status: dict[int, int] = {}
    acked: list[str] = []
    next_i = 0
    deadline = time.perf_counter() + seconds
    head = (
        f"POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()

    async def conn() -> None:
        nonlocal next_i
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            status[-1] = status.get(-1, 0) + 1
            return
        sent: list[float] = []  # send times of the requests in flight on this connection (pipelined)

        def send() -> bool:
            nonlocal next_i
            if next_i >= len(bodies) or time.perf_counter() >= deadline:
                return False
            body = bodies[next_i]
            next_i += 1
            sent.append(time.perf_counter())
            writer.write(head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            return True

        try:
            for _ in range(pipeline):
                send()
            while sent:
                hdr = await reader.readuntil(b"\r\n\r\n")
                code = int(hdr[9:12])
                clen = 0
                for line in hdr.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        clen = int(line[15:])
                data = await reader.readexactly(clen)
                lat.append(time.perf_counter() - sent.pop(0))
                status[code] = status.get(code, 0) + 1
                if acked_path is not None and code == 200:
                    ans = json.loads(data)
                    acked.extend(a["id"] for a in (ans if isinstance(ans, list) else [ans]))
                send()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status[-1] = status.get(-1, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(conn() for _ in range(connections)))
    wall = time.perf_counter() - t0
    if acked_path is not None:
        Path(acked_path).write_text("\n".join(acked), encoding="utf-8")
    arr = np.array(lat) * 1000 if lat else np.zeros(1)
    return {
        "requests": len(lat),
        "seconds": wall,
        "status": status,
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "max_ms": float(arr.max()),
    }


def client_main(args: dict[str, Any], out: Any) -> None:
    """The load generator (a separate process): builds its bodies, then drives the server."""
    bodies = _bodies(
        args["accounts"],
        args["start_us"],
        args["prefix"],
        args["n"],
        args["per"],
        args["seed"],
        args.get("gap_us", 10_000),
        read_replay(args["replay"]) if args.get("replay") else None,
        args.get("offset", 0),
    )
    out.send("ready")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    import resource

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    res = asyncio.run(
        _drive(
            args["port"],
            args["token"],
            bodies,
            args["connections"],
            args["seconds"],
            args.get("acked_path"),
            args.get("pipeline", 1),
        )
    )
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    res["client_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out.send(res)


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the service's drain worker), from /proc."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads), its live child
    processes' included (the drain worker), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        with contextlib.suppress(OSError, IndexError):
            f = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total


def threads_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` so far, summed by OS thread name (the service names its
    stages' threads rt-compute, rt-log, rt-drain; the main thread, the event loop, reads 'event loop';
    DuckDB's and other unnamed threads read 'python'), and of its child processes, all their threads
    together under 'drain process' (the service's drain worker, DuckDB's threads in it included)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for proc in [pid, *_children(pid)]:
        for task in Path(f"/proc/{proc}/task").glob("*"):
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            if proc != pid:
                name = "drain process"
            elif task.name == str(pid):
                name = "event loop"
            else:
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def run_client(server_pid: int | None = None, settle: Any = None, **kw: Any) -> dict[str, Any]:
    """Run one load phase; with ``server_pid``, also the server's CPU seconds over the phase and,
    after it, ``settle()`` (waiting until the store holds the phase's transactions: its drain)."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=client_main, args=(kw, send))
    p.start()
    assert recv.recv() == "ready"
    cpu0 = proc_cpu_s(server_pid) if server_pid else math.nan
    thr0 = threads_cpu_s(server_pid) if server_pid else {}
    res: dict[str, Any] = recv.recv()
    if settle is not None:
        settle()
    res["server_cpu_s"] = (proc_cpu_s(server_pid) - cpu0) if server_pid else math.nan
    if server_pid:
        thr1 = threads_cpu_s(server_pid)  # threads that ended meanwhile are missing from both sides
        res["threads_cpu_s"] = {k: v - thr0.get(k, 0.0) for k, v in thr1.items()}
    p.join()
    return res


# ----------------------------------------------------------------------------- server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, ws: Path, port: int, token: str) -> None:
        self.ws, self.port, self.token = ws, port, token
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        import httpx

        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "filiere.realtime", "--workspace", str(self.ws), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                time.sleep(0.05)

    def api(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        r = httpx.request(
            method, f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {self.token}"},
            timeout=120, **kw,
        )  # fmt: skip
        r.raise_for_status()
        return r.json()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(60)


def set_alert_threshold(ws: Path, threshold: float | None) -> None:
    """Write (or remove) ``realtime.alert_threshold`` in the workspace's ``filiere.yml``."""
    import yaml

    path = ws / "filiere.yml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rt = dict(cfg.get("realtime") or {})
    if threshold is None:
        rt.pop("alert_threshold", None)
    else:
        rt["alert_threshold"] = threshold
    if rt:
        cfg["realtime"] = rt
    else:
        cfg.pop("realtime", None)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")


def reuse(root: Path) -> dict[str, Any] | None:
    """The workspace a previous run prepared (``--reuse``), its clock moved past what it stored."""
    from filiere.config import load_settings
    from filiere.store import open_store

    meta = root / "prep.json"
    if not meta.exists():
        return None
    prep: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
    prep["ws"] = Path(prep["ws"])
    prep["accounts"] = [tuple(a) for a in prep["accounts"]]
    with open_store(load_settings(prep["ws"]), read_only=True) as store:
        prep["last_us"] = int(store.scalar("SELECT epoch_us(max(ts)) FROM transactions"))
    prep["train_s"] = 0.0
    return prep


def split_world(csv_path: Path, rows: int, train_path: Path, replay_path: Path) -> int:
    """Time-sort an AMLworld CSV ('%Y/%m/%d %H:%M' sorts as text); the first ``rows`` rows become
    the bank's history (ingested, trained on), the rest the payments replayed to the service."""
    with open(csv_path, encoding="utf-8") as f:
        header = f.readline()
        lines = f.readlines()
    lines.sort(key=lambda line: line[:16])  # stable: ties keep the file's order
    # a small history may hold no laundering yet: stretch it to the second laundering row (training
    # needs positives), the replay starts after it
    pos = [i for i, line in enumerate(lines) if line.rstrip("\r\n").endswith(",1")]
    if len([i for i in pos if i < rows]) < 2 and len(pos) >= 2:
        rows = pos[1] + 1
    train_path.write_text(header + "".join(lines[:rows]), encoding="utf-8")
    replay_path.write_text(header + "".join(lines[rows:]), encoding="utf-8")
    return rows


def prepare(root: Path, rows: int, seed: int, holdout: int = 0) -> dict[str, Any]:
    from filiere.api import auth
    from filiere.config import load_settings
    from filiere.io.ingest import ingest_files
    from filiere.scenario import generate
    from filiere.scoring.detect import train_on_store
    from filiere.scoring.model import TrainConfig
    from filiere.store import init_workspace, open_store

    shutil.rmtree(root, ignore_errors=True)
    # one world: its first ``rows`` payments are the history, the next ``holdout`` the live traffic
    world = generate("amlworld-hi", rows + holdout, seed, root / "world")
    history, replay = root / "history.csv", root / "replay.csv"
    history_rows = split_world(world.files["transactions"], rows, history, replay)
    replayed = rows + holdout - history_rows
    ws = root / "ws"
    init_workspace(ws)
    settings = load_settings(ws)
    with open_store(settings) as store:
        ingest_files(store, [history], "amlworld", accounts=world.files["accounts"])
        auth.add_user(store, "feed", "machine", None)
        token = auth.create_token(store, "feed")
        accts = store.query("SELECT from_bank, split_part(from_account, ':', 2) FROM transactions GROUP BY ALL")
        last = store.scalar("SELECT epoch_us(max(ts)) FROM transactions")
        # replay at the world's own density: the world's mean gap between payments, over all its accounts
        span, n_tx = store.query("SELECT epoch_us(max(ts)) - epoch_us(min(ts)), count(*) FROM transactions")[0]
        gap_us = max(1, int(span) // max(1, int(n_tx)))
    t0 = time.perf_counter()
    model = train_on_store(settings, TrainConfig(n_estimators=150, num_leaves=31, early_stopping_rounds=20))
    prep = {
        "ws": ws, "token": token, "accounts": [(str(a), str(b)) for a, b in accts], "last_us": int(last), "gap_us": gap_us,
        "model": model.version, "features": len(model.feature_names), "train_s": time.perf_counter() - t0,
        "replay": str(replay) if replayed > 0 else "", "replayed": replayed, "history_rows": history_rows,
    }  # fmt: skip
    (root / "prep.json").write_text(json.dumps({**prep, "ws": str(ws)}), encoding="utf-8")
    return prep


# ----------------------------------------------------------------------------- phases
def fault_test(
    ws: Path, token: str, prep: dict[str, Any], start_us: int, kill_after: float, prefix: str = "K"
) -> dict[str, Any]:
    from filiere.config import load_settings
    from filiere.realtime.schemas import TransactionIn, normalise
    from filiere.realtime.service import clean_state
    from filiere.store import open_store

    port = _free_port()
    srv = Server(ws, port, token)
    srv.start()
    acked_path = str(ws.parent / "acked.txt")
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    kw = {"accounts": prep["accounts"], "start_us": start_us, "prefix": prefix, "n": 20_000, "per": 20, "seed": 9,
          "port": port, "token": token, "connections": 8, "seconds": kill_after + 5, "acked_path": acked_path,
          "gap_us": int(prep["gap_us"])}  # fmt: skip
    p = ctx.Process(target=client_main, args=(kw, send))
    p.start()
    assert recv.recv() == "ready"  # bodies built: the load starts now
    time.sleep(kill_after)
    srv.stop(signal.SIGKILL)
    load = recv.recv()
    p.join()
    acked = set(Path(acked_path).read_text(encoding="utf-8").split())
    restart_s = srv.start()
    probe = {"id": "PROBE-1", "timestamp": "2100-01-01T00:00:00", "from_bank": prep["accounts"][0][0],
             "from_account": prep["accounts"][0][1], "to_bank": prep["accounts"][1][0],
             "to_account": prep["accounts"][1][1], "amount": 1234.5, "currency": "USD", "payment_format": "Wire"}  # fmt: skip
    live = srv.api("POST", "/v1/transactions?features=1", json=probe)
    status = srv.api("GET", "/v1/realtime/status?flush=1")
    srv.stop()
    with open_store(load_settings(ws)) as store:
        ids = [r[0] for r in store.query("SELECT tx_id FROM realtime_tx WHERE starts_with(tx_id, ?)", [prefix])]
        clean = clean_state(store, max_seq=int(live["seq"]) - 1)
    _, replayed = clean.step(normalise(TransactionIn.model_validate(probe)))

    def v(x: Any) -> float:
        return math.nan if x is None else float(x)

    diff = [n for n in clean.names
            if not (v(live["features"][n]) == v(replayed[n]) or (math.isnan(v(live["features"][n])) and math.isnan(v(replayed[n]))))]  # fmt: skip
    return {
        "acked": len(acked),
        "stored": len(ids),
        "stored_distinct": len(set(ids)),
        "acked_missing": len(acked - set(ids)),
        "features_differ": diff,
        "restart_s": restart_s,
        "recovery_s": status.get("recovery_s"),
        "replayed": status.get("replayed"),
        "snapshot_seq_used": status.get("snapshot_used"),
        "client_status": load["status"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000, help="rows of the generated world (history)")
    ap.add_argument("--single", type=int, default=40_000, help="single-transaction requests (upper bound)")
    ap.add_argument("--batches", type=int, default=2_000, help="requests of 100 transactions (upper bound)")
    ap.add_argument("--seconds", type=float, default=20.0, help="time bound of each load phase")
    ap.add_argument("--connections", type=int, default=32, help="client connections (closed loop)")
    ap.add_argument("--pipeline", type=int, default=1, help="requests in flight per connection (HTTP pipelining)")
    ap.add_argument("--batch-connections", type=int, default=4, help="client connections for the batch phase")
    ap.add_argument("--no-fault", action="store_true", help="skip the SIGKILL test")
    ap.add_argument("--workdir", type=Path, default=Path(".bench-work/realtime"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reuse", action="store_true", help="reuse the workspace a previous run prepared in --workdir")
    ap.add_argument(
        "--random-traffic",
        action="store_true",
        help="replay random account pairs with random USD amounts instead of the world's held-out payments "
        "(the model finds such traffic suspicious: ~40%% alerts)",
    )
    ap.add_argument(
        "--alert-threshold",
        type=float,
        default=None,
        help="realtime.alert_threshold for the server (default: the model's own threshold); each alert "
        "costs an explanation, an alert record and a live event, so the alert rate moves the CPU per transaction",
    )
    a = ap.parse_args()
    t0 = time.perf_counter()
    holdout = 0 if a.random_traffic else 500 + a.single + a.batches * 100
    prep = (reuse(a.workdir) if a.reuse else None) or prepare(a.workdir, a.rows, a.seed, holdout)
    replay = {"replay": prep.get("replay", "")}
    print(f"prepared: {a.rows:,}-row world, model {prep['model']} ({prep['features']} features, trained in "
          f"{prep['train_s']:.0f} s), {time.perf_counter() - t0:.0f} s")  # fmt: skip
    ws, token = prep["ws"], prep["token"]
    set_alert_threshold(ws, a.alert_threshold)
    port = _free_port()
    srv = Server(ws, port, token)
    start_s = srv.start()
    load0 = os.getloadavg()
    base = prep["last_us"] + 3_600_000_000
    gap = int(prep["gap_us"])  # event time advances at the world's own density (see prepare)
    single_start = base + 500 * gap + 3_600_000_000
    batch_start = single_start + a.single * gap + 3_600_000_000
    rows: list[tuple[str, dict[str, Any], int]] = []
    tag = f"{int(time.time()) % 100_000}-"  # ids of this run (a reused workspace holds earlier runs')
    assert srv.proc is not None
    pid = srv.proc.pid

    def settle() -> None:
        srv.api("GET", "/v1/realtime/status?flush=1")

    try:
        warm = run_client(accounts=prep["accounts"], start_us=base, prefix=f"W{tag}", n=500, per=1, seed=1, port=port,
                          token=token, connections=8, seconds=5, gap_us=gap, offset=0, **replay)  # fmt: skip
        del warm
        single = run_client(accounts=prep["accounts"], start_us=single_start, prefix=f"S{tag}", n=a.single, per=1, seed=2,
                            port=port, token=token, connections=a.connections, seconds=a.seconds,
                            pipeline=a.pipeline, gap_us=gap, server_pid=pid, settle=settle, offset=500,
                            **replay)  # fmt: skip
        rows.append(("single", single, 1))
        batch = run_client(accounts=prep["accounts"], start_us=batch_start, prefix=f"B{tag}", n=a.batches, per=100,
                           seed=3, port=port, token=token, connections=a.batch_connections, seconds=a.seconds,
                           gap_us=gap, server_pid=pid, settle=settle, offset=500 + a.single, **replay)  # fmt: skip
        rows.append(("batch of 100", batch, 100))
        status = srv.api("GET", "/v1/realtime/status?flush=1")
    finally:
        srv.stop()
    load = os.getloadavg()
    print(
        f"\nload average at the start {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f}; pipeline {a.pipeline}, "
        f"{a.connections} connections (single), {a.batch_connections} (batches)"
    )
    print(f"server start {start_s:.1f} s; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"(1/5/15 min) on {os.cpu_count()} CPUs\n")  # fmt: skip
    print(f"event time advances {prep['gap_us'] / 1e6:.1f} s per payment over {len(prep['accounts']):,} accounts "
          "(the generated world's own density), replayed as fast as the server answers")  # fmt: skip
    if prep.get("replay"):
        print(f"traffic: the world's {prep['replayed']:,} payments after its {prep.get('history_rows', a.rows):,}-row history (time order; "
              "their pairs, amounts, currencies, formats), on that clock\n")  # fmt: skip
    else:
        print("traffic: random account pairs, random USD amounts and formats (--random-traffic)\n")
    print("server CPU µs/tx: the server process's user + system CPU over the phase and the drain of its")
    print("transactions into the store, per transaction answered 200; client likewise (the load generator)\n")
    print("| phase | requests | transactions | seconds | tx/s | p50 ms | p99 ms | max ms | server CPU µs/tx "
          "| client CPU µs/tx | answers |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r, per in rows:
        ok = r["status"].get(200, 0)
        n_ok = max(1, ok * per)
        print(f"| {name} | {r['requests']:,} | {ok * per:,} | {r['seconds']:.1f} | {ok * per / r['seconds']:,.0f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['server_cpu_s'] * 1e6 / n_ok:,.0f} | "
              f"{r['client_cpu_s'] * 1e6 / n_ok:,.0f} | {r['status']} |")  # fmt: skip
    names = sorted({k for _, r, _ in rows for k in r.get("threads_cpu_s", {})})
    if names:
        print("\nserver CPU µs/tx by thread (python: DuckDB's and other unnamed threads)\n")
        print("| phase | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for name, r, per in rows:
            n_ok = max(1, r["status"].get(200, 0) * per)
            cells = " | ".join(f"{r['threads_cpu_s'].get(k, 0.0) * 1e6 / n_ok:,.1f}" for k in names)
            print(f"| {name} | {cells} |")
    thr = f"{a.alert_threshold} (--alert-threshold)" if a.alert_threshold is not None else "the model's own"
    print(f"\nalert threshold: {thr}")
    print(f"\nservice: {status['seq']:,} transactions logged, {status['stored_seq']:,} stored, "
          f"{status['log_groups']:,} log groups (fsyncs), alerts {status['alerts']}, holds {status['holds']}")  # fmt: skip
    if not a.no_fault:
        f = fault_test(
            ws, token, prep, batch_start + a.batches * 100 * gap + 3_600_000_000, kill_after=2.0, prefix=f"K{tag}"
        )
        ok = f["acked_missing"] == 0 and f["stored"] == f["stored_distinct"] and not f["features_differ"]
        print("\n| fault test (SIGKILL mid-load) | value |\n|---|---|")
        for k, v in f.items():
            print(f"| {k.replace('_', ' ')} | {v if not isinstance(v, float) else round(v, 2)} |")
        print(f"| verdict | {'PASS' if ok else 'FAIL'} |")


if __name__ == "__main__":
    main()
