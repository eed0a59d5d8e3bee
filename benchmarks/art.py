"""Art matching benchmark: perturbed FBI NSAF records and transformed scikit-image sample images.

Text: the register is the FBI National Stolen Art File minus a held-out 10%; queries are indexed
records perturbed by typos, reordered names and titles, unit changes (inches <-> centimetres with
rounding or fractions), missing fields, and all of these at once. Top-1/top-5: the source record
(or an exact duplicate of it) ranks first/in the first five. False matches: held-out records (no
duplicate left in the register) whose best candidate scores at or above the alert threshold.

Images: 14 sample images form an image register; queries are each of them after JPEG (q=25),
resize (0.4), crop (central 60%), rotation (15°), brightness (+50) and all at once; 6 other sample
images, transformed the same way, measure false matches.

    .venv/bin/python benchmarks/art.py --rows 1000
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from filiere.vectors.art.match import ArtIndex
from filiere.vectors.art.records import ArtObject, finish, read_objects

ROOT = Path(__file__).resolve().parents[1]
NSAF = ROOT / ".." / "shared" / "data" / "art" / "fbi_nsaf.csv"
THRESHOLD = 0.75


def typo(s: str, rng: random.Random, n: int = 2) -> str:
    chars = list(s)
    for _ in range(n):
        if len(chars) < 4:
            break
        i = rng.randrange(1, len(chars) - 1)
        op = rng.choice("dsit")
        if op == "d":
            del chars[i]
        elif op == "s":
            chars[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        elif op == "i":
            chars.insert(i, rng.choice("abcdefghijklmnopqrstuvwxyz"))
        else:
            chars[i - 1], chars[i] = chars[i], chars[i - 1]
    return "".join(chars)


def reorder(o: ArtObject, rng: random.Random) -> ArtObject:
    maker = o.maker
    parts = maker.split()
    if len(parts) >= 2:
        maker = f"{parts[-1]}, {' '.join(parts[:-1])}"
    words = o.title.split()
    if len(words) >= 2:
        k = rng.randrange(1, len(words))
        words = words[k:] + words[:k]
    return replace(o, maker=maker, title=" ".join(words))


def frac(x: float) -> str:
    whole = int(x)
    q = round((x - whole) * 4)
    if q == 4:
        return str(whole + 1)
    return f"{whole} {q}/4" if q else str(whole)


def units(o: ArtObject, rng: random.Random) -> ArtObject:
    if not o.dims_cm:
        return o
    dims = list(o.dims_cm)
    rng.shuffle(dims)
    if "cm" in o.measurements.lower() or "mm" in o.measurements.lower():
        text = " x ".join(frac(d / 2.54) for d in dims) + " in"
    else:
        text = " x ".join(f"{round(d, rng.choice([0, 1]))}" for d in dims) + " cm"
    return replace(o, measurements=text)


def drop(o: ArtObject, rng: random.Random) -> ArtObject:
    fields = ["title", "maker", "materials", "measurements", "period", "description", "object_type"]
    present = [f for f in fields if getattr(o, f)]
    k = min(len(present) - 1, rng.randint(1, 3))
    out = o
    for f in rng.sample(present, max(k, 0)):
        out = replace(out, **{f: ""})
    return out


def perturb(o: ArtObject, kind: str, rng: random.Random) -> ArtObject:
    q = replace(o, reference_number="", image_url="")
    if kind in ("typos", "all"):
        q = replace(q, title=typo(q.title, rng), maker=typo(q.maker, rng, 1))
    if kind in ("reordered", "all"):
        q = reorder(q, rng)
    if kind in ("units", "all"):
        q = units(q, rng)
    if kind in ("missing", "all"):
        q = drop(q, rng)
    return finish(q)


def key(o: ArtObject) -> tuple[str, str, str]:
    return (re.sub(r"\W+", " ", o.title.lower()).strip(), o.maker.lower().strip(), o.measurements.strip())


def text_bench(rows: int, seed: int) -> list[tuple[str, int, float, float, float, float]]:
    rng = random.Random(seed)
    objs = read_objects(NSAF)
    rng.shuffle(objs)
    n_hold = len(objs) // 10
    held, reg = objs[:n_hold], objs[n_hold:]
    ids = [f"fbi:{i}" for i in range(len(reg))]
    t0 = time.perf_counter()
    ix = ArtIndex(ids, reg)
    build = time.perf_counter() - t0
    by_key: dict[tuple[str, str, str], set[str]] = {}
    for i, o in zip(ids, reg, strict=True):
        by_key.setdefault(key(o), set()).add(i)
    pool = [(i, o) for i, o in zip(ids, reg, strict=True) if o.title and (o.maker or o.dims_cm)]
    sample = rng.sample(pool, min(rows, len(pool)))
    out = []
    for kind in ("typos", "reordered", "units", "missing", "all"):
        top1 = top5 = 0
        t0 = time.perf_counter()
        for _oid, o in sample:
            ok = by_key[key(o)]
            res = ix.match(perturb(o, kind, rng), top_n=5)
            cand = [c.object_id for c in res.candidates]
            top1 += bool(cand) and cand[0] in ok
            top5 += any(c in ok for c in cand)
        dt = time.perf_counter() - t0
        out.append((kind, len(sample), top1 / len(sample), top5 / len(sample), float("nan"), 1000 * dt / len(sample)))
    reg_titles = {key(o)[:2] for o in reg}
    unrelated = [o for o in held if key(o)[:2] not in reg_titles and o.title][:rows]
    fm = 0
    t0 = time.perf_counter()
    for o in unrelated:
        res = ix.match(finish(replace(o, reference_number="")), top_n=1)
        fm += bool(res.candidates) and res.candidates[0].score >= THRESHOLD
    dt = time.perf_counter() - t0
    out.append(
        (
            "unrelated (held out)",
            len(unrelated),
            float("nan"),
            float("nan"),
            fm / max(1, len(unrelated)),
            1000 * dt / max(1, len(unrelated)),
        )
    )
    print(f"text index over {len(reg):,} records built in {build:.2f} s", file=sys.stderr)
    return out


REGISTERED = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "text", "hubble_deep_field",
              "immunohistochemistry", "brick", "cell", "colorwheel", "retina")  # fmt: skip
UNRELATED = ("gravel", "grass", "clock", "page", "shepp_logan_phantom", "horse")


def _bgr(name: str) -> np.ndarray:
    import cv2
    import skimage.data as skd
    from skimage import img_as_ubyte

    a = getattr(skd, name)()
    if a.dtype != np.uint8:
        a = img_as_ubyte(a / a.max() if a.dtype.kind == "f" else a)
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    if a.shape[2] == 4:
        a = a[:, :, :3]
    return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2BGR)


def transform(img: np.ndarray, kind: str) -> tuple[np.ndarray, int]:
    import cv2

    h, w = img.shape[:2]
    q = 95
    if kind in ("resize", "all"):
        img = cv2.resize(img, (max(32, int(w * 0.4)), max(32, int(h * 0.4))), interpolation=cv2.INTER_AREA)
    if kind in ("rotate", "all"):
        hh, ww = img.shape[:2]
        img = cv2.warpAffine(
            img, cv2.getRotationMatrix2D((ww / 2, hh / 2), 15, 1.0), (ww, hh), borderMode=cv2.BORDER_REFLECT
        )
    if kind in ("crop", "all"):
        hh, ww = img.shape[:2]
        img = img[int(hh * 0.2) : int(hh * 0.8), int(ww * 0.2) : int(ww * 0.8)]
    if kind in ("brightness", "all"):
        img = cv2.convertScaleAbs(img, alpha=1.0, beta=50)
    if kind in ("jpeg", "all"):
        q = 25
    return img, q


def image_bench() -> list[tuple[str, int, float, float, float, float]]:
    import cv2

    tmp = Path(tempfile.mkdtemp(prefix="artbench-"))
    objs = []
    for i, name in enumerate(REGISTERED):
        p = tmp / f"reg_{name}.png"
        cv2.imwrite(str(p), _bgr(name))
        objs.append(finish(ArtObject(reference_number=name, title="", image_path=str(p), row=i + 1)))
    ix = ArtIndex([o.reference_number for o in objs], objs)
    ix.prepare_images()
    out = []
    for kind in ("jpeg", "resize", "crop", "rotate", "brightness", "all"):
        top1 = top5 = fm = 0
        t0 = time.perf_counter()
        for name in REGISTERED:
            img, q = transform(_bgr(name), kind)
            p = tmp / f"q_{kind}_{name}.jpg"
            cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, q])
            cand = [c.object_id for c in ix.match(finish(ArtObject(image_path=str(p), row=1)), top_n=5).candidates]
            top1 += bool(cand) and cand[0] == name
            top5 += name in cand
        dt = time.perf_counter() - t0
        for name in UNRELATED:
            img, q = transform(_bgr(name), kind)
            p = tmp / f"u_{kind}_{name}.jpg"
            cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, q])
            res = ix.match(finish(ArtObject(image_path=str(p), row=1)), top_n=1)
            fm += bool(res.candidates) and res.candidates[0].score >= THRESHOLD
        n = len(REGISTERED)
        out.append((f"image: {kind}", n, top1 / n, top5 / n, fm / len(UNRELATED), 1000 * dt / n))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=500, help="text queries per perturbation")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-images", action="store_true")
    args = ap.parse_args()
    rows = text_bench(args.rows, args.seed)
    if not args.no_images:
        rows += image_bench()
    print(f"| queries | n | top-1 | top-5 | false matches (score ≥ {THRESHOLD}) | ms/query |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, n, t1, t5, fm, ms in rows:
        f = lambda x: "–" if x != x else f"{x:.1%}"  # noqa: E731
        print(f"| {kind} | {n} | {f(t1)} | {f(t5)} | {f(fm)} | {ms:.1f} |")


if __name__ == "__main__":
    main()
