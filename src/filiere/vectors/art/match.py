"""Matching offered objects against stolen-art registers.

Candidates come from a blocking index (weighted character trigrams of the title and maker, and of
the other descriptive fields; dimensions within a few percent; images by perceptual hash), never
from all pairs. Each candidate is scored field by field with rapidfuzz token metrics on normalised
text, numeric comparison of measurements in centimetres, overlap of dates, and image evidence. Every
score carries its explanation: which fields agreed, how much, by which method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from filiere._lazy import require
from filiere.vectors.art import images as img
from filiere.vectors.art.measure import compare_dims
from filiere.vectors.art.records import ArtObject, normalise

#: relative weight of each field in the text score (fields missing on either side are left out)
FIELD_WEIGHTS: dict[str, float] = {
    "title": 0.30,
    "maker": 0.22,
    "measurements": 0.18,
    "materials": 0.10,
    "description": 0.10,
    "period": 0.05,
    "object_type": 0.05,
}
#: total weight that earns full confidence; a query carrying less is discounted (few fields, weak evidence)
FULL_COVERAGE = 0.6
_RESCALED = frozenset({"title", "maker", "materials", "description"})
_MAKER_NOISE = {"attributed", "to", "after", "school", "of", "circle", "studio", "workshop", "follower", "manner"}
_MAKER_UNKNOWN = {"", "unknown", "unknown artist", "anonymous", "n a", "none", "artist unknown"}


@dataclass(slots=True)
class Candidate:
    object_id: str
    reference_number: str
    title: str
    maker: str
    score: float
    text_score: float
    image_score: float
    explanation: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{e['field']} {e['similarity']:.2f}" for e in self.explanation if e["similarity"] > 0]
        return "; ".join(parts) or "no field agrees"


@dataclass(slots=True)
class MatchResult:
    query: ArtObject
    candidates: list[Candidate]


def _grams(text: str) -> set[str]:
    out: set[str] = set()
    for w in text.split():
        p = f" {w} "
        out.update(p[i : i + 3] for i in range(len(p) - 2))
    return out


def clean_maker(text: str) -> str:
    words = [w for w in normalise(text).split() if w not in _MAKER_NOISE]
    s = " ".join(words)
    return "" if s in _MAKER_UNKNOWN else s


class _GramIndex:
    """Inverted index of character trigrams with idf weights, postings in CSR arrays."""

    def __init__(self, docs: Sequence[str]) -> None:
        vocab: dict[str, int] = {}
        rec: list[int] = []
        gid: list[int] = []
        for i, doc in enumerate(docs):
            for g in _grams(doc):
                gid.append(vocab.setdefault(g, len(vocab)))
                rec.append(i)
        g_arr = np.asarray(gid, dtype=np.int64)
        r_arr = np.asarray(rec, dtype=np.int64)
        order = np.argsort(g_arr, kind="stable")
        self.vocab = vocab
        self.postings = r_arr[order]
        counts = np.bincount(g_arr, minlength=len(vocab))
        self.ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        n = max(1, len(docs))
        self.idf = np.log1p(n / np.maximum(counts, 1)).astype(np.float64)
        self.n = len(docs)

    def scores(self, text: str) -> npt.NDArray[np.float64]:
        ids = [self.vocab[g] for g in _grams(text) if g in self.vocab]
        if not ids:
            return np.zeros(self.n)
        ids_a = np.asarray(ids, dtype=np.int64)
        lens = self.ptr[ids_a + 1] - self.ptr[ids_a]
        starts = self.ptr[ids_a]
        idx = np.repeat(starts - np.cumsum(np.concatenate([[0], lens[:-1]])), lens) + np.arange(lens.sum())
        weights = np.repeat(self.idf[ids_a], lens)
        return np.bincount(self.postings[idx], weights=weights, minlength=self.n).astype(np.float64)


class ArtIndex:
    """A register (or several) ready to be matched against."""

    def __init__(self, object_ids: Sequence[str], objects: Sequence[ArtObject], *, block_k: int = 60) -> None:
        self.object_ids = list(object_ids)
        self.objects = list(objects)
        self.block_k = block_k
        self.title = [normalise(o.title) for o in objects]
        self.maker = [clean_maker(o.maker) for o in objects]
        self.materials = [normalise(o.materials) for o in objects]
        self.description = [normalise(" ".join((o.description, o.inscriptions, o.technique))) for o in objects]
        self.object_type = [normalise(o.object_type) for o in objects]
        self.name_index = _GramIndex([f"{t} {m}" for t, m in zip(self.title, self.maker, strict=True)])
        self.other_index = _GramIndex(
            [f"{a} {b} {c}" for a, b, c in zip(self.materials, self.description, self.object_type, strict=True)]
        )
        self.max_dim = np.array([o.dims_cm[0] if o.dims_cm else np.nan for o in objects], dtype=np.float64)
        self.has_image = np.array([bool(o.image_path) for o in objects], dtype=bool)
        self.phash = np.zeros(len(objects), dtype=np.uint64)
        self._features: dict[int, img.ImageFeatures] = {}

    def __len__(self) -> int:
        return len(self.objects)

    # ---- images -------------------------------------------------------------------------
    def _features_of(self, i: int) -> img.ImageFeatures:
        f = self._features.get(i)
        if f is None:
            f = img.features(self.objects[i].image_path)
            self._features[i] = f
            self.phash[i] = np.uint64(f.phash)
        return f

    def prepare_images(self, phashes: Sequence[int | None] | None = None) -> None:
        """Compute (or take stored) perceptual hashes of the register's images."""
        for i in np.flatnonzero(self.has_image):
            stored = phashes[int(i)] if phashes is not None else None
            if stored is not None:
                self.phash[i] = np.uint64(stored)
            else:
                self._features_of(int(i))

    def _image_scores(
        self, query: img.ImageFeatures, *, orb_all_limit: int = 200, orb_top: int = 30
    ) -> dict[int, tuple[float, dict[str, Any]]]:
        with_img = np.flatnonzero(self.has_image)
        if len(with_img) == 0:
            return {}
        dist = img.phash_distances(query.phash, self.phash[with_img])
        order = np.argsort(dist, kind="stable")
        verify = with_img if len(with_img) <= orb_all_limit else with_img[order[:orb_top]]
        out: dict[int, tuple[float, dict[str, Any]]] = {}
        dist_of = dict(zip(with_img.tolist(), dist.tolist(), strict=True))
        for i in set(verify.tolist()) | set(with_img[dist <= img.PHASH_MAX_DISTANCE].tolist()):
            d = int(dist_of[i])
            ph = img.phash_similarity(d)
            inl = img.orb_inliers(query, self._features_of(i)) if ph < 0.9 else -1
            orb = img.orb_similarity(inl) if inl >= 0 else 0.0
            s = max(ph, orb)
            if s > 0:
                out[i] = (
                    s,
                    {
                        "field": "image",
                        "similarity": round(s, 3),
                        "method": "phash" if ph >= orb else "orb+ransac",
                        "phash_distance": d,
                        "orb_inliers": inl if inl >= 0 else None,
                    },
                )
        return out

    # ---- matching -----------------------------------------------------------------------
    def _block(self, q: ArtObject, qt: str, qm: str, q_other: str) -> npt.NDArray[np.int64]:
        k = self.block_k
        s = self.name_index.scores(f"{qt} {qm}".strip()) if (qt or qm) else np.zeros(len(self))
        if q_other:
            s = s + 0.3 * self.other_index.scores(q_other)
        cands: list[npt.NDArray[np.int64]] = []
        pos = np.flatnonzero(s > 0)
        if len(pos):
            top = pos[np.argsort(-s[pos], kind="stable")[:k]]
            cands.append(top.astype(np.int64))
        if q.dims_cm:
            rel = np.abs(self.max_dim - q.dims_cm[0]) / np.maximum(self.max_dim, q.dims_cm[0])
            near = np.flatnonzero(rel <= 0.05)
            if len(near):
                # among same-size objects, those sharing some text first
                near = near[np.lexsort((rel[near], -s[near]))][:k]
                cands.append(near.astype(np.int64))
        if not cands:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(cands))

    def match(self, q: ArtObject, *, top_n: int = 5, min_score: float = 0.3) -> MatchResult:
        fuzz: Any = require("rapidfuzz.fuzz", "screening")
        process: Any = require("rapidfuzz.process", "screening")
        qt, qm = normalise(q.title), clean_maker(q.maker)
        qmat = normalise(q.materials)
        qdesc = normalise(" ".join((q.description, q.inscriptions, q.technique)))
        qtype = normalise(q.object_type)
        q_other = " ".join(x for x in (qmat, qdesc, qtype) if x)
        cand = self._block(q, qt, qm, q_other)
        image_hits: dict[int, tuple[float, dict[str, Any]]] = {}
        if q.image_path and self.has_image.any():
            image_hits = self._image_scores(img.features(q.image_path))
            if image_hits:
                cand = np.unique(np.concatenate([cand, np.fromiter(image_hits, dtype=np.int64)]))
        if len(cand) == 0:
            return MatchResult(q, [])
        ci = cand.tolist()
        n = len(ci)
        sims: dict[str, npt.NDArray[np.float64]] = {}
        present: dict[str, npt.NDArray[np.bool_]] = {}
        methods: dict[str, str] = {}

        def text_field(name: str, qv: str, values: list[str], scorer: str) -> None:
            if not qv:
                return
            cv = [values[i] for i in ci]
            mask = np.array([bool(v) for v in cv])
            if scorer == "title":
                a = process.cdist([qv], cv, scorer=fuzz.token_sort_ratio, workers=1)[0]
                b = process.cdist([qv], cv, scorer=fuzz.token_set_ratio, workers=1)[0]
                s = (0.6 * a + 0.4 * b) / 100.0
                methods[name] = "0.6 token_sort_ratio + 0.4 token_set_ratio"
            else:
                s = process.cdist([qv], cv, scorer=fuzz.token_set_ratio, workers=1)[0] / 100.0
                methods[name] = "token_set_ratio"
            sims[name] = np.asarray(s, dtype=np.float64)
            present[name] = mask

        text_field("title", qt, self.title, "title")
        if qm:
            cv = [self.maker[i] for i in ci]
            a = process.cdist([qm], cv, scorer=fuzz.token_sort_ratio, workers=1)[0] / 100.0
            b = process.cdist([qm], cv, scorer=fuzz.token_set_ratio, workers=1)[0] / 100.0
            # name variants: same surname, compatible first initial ("P. Picasso", "Picasso, Pablo")
            q_last, q_first = _surname_initial(qm)
            last = [_surname_initial(v) for v in cv]
            c = process.cdist([q_last], [x[0] for x in last], scorer=fuzz.ratio, workers=1)[0] / 100.0
            init_ok = np.array([(not q_first or not f or f == q_first) for _, f in last])
            c = np.where(init_ok & (c >= 0.85), 0.9 * c, 0.0)
            sims["maker"] = np.maximum.reduce([a, 0.92 * b, c]).astype(np.float64)
            present["maker"] = np.array([bool(v) for v in cv])
            methods["maker"] = "max(token_sort_ratio, 0.92 token_set_ratio, surname+initial)"
        text_field("materials", qmat, self.materials, "set")
        text_field("description", qdesc, self.description, "set")
        if qtype:
            cv = [self.object_type[i] for i in ci]
            s = process.cdist([qtype], cv, scorer=fuzz.token_set_ratio, workers=1)[0] / 100.0
            sims["object_type"] = np.asarray(s, dtype=np.float64)
            present["object_type"] = np.array([bool(v) for v in cv])
            methods["object_type"] = "token_set_ratio"
        dim_detail: list[float] = [math.nan] * n
        if q.dims_cm:
            s = np.zeros(n)
            mask = np.zeros(n, dtype=bool)
            for j, i in enumerate(ci):
                d = self.objects[i].dims_cm
                if d:
                    s[j], dim_detail[j] = compare_dims(q.dims_cm, d)
                    mask[j] = True
            sims["measurements"], present["measurements"] = s, mask
            methods["measurements"] = "dimensions in cm, largest first; equal within 2%, different from 17%"
        if q.year_from is not None and q.year_to is not None:
            s = np.zeros(n)
            mask = np.zeros(n, dtype=bool)
            for j, i in enumerate(ci):
                o = self.objects[i]
                if o.year_from is not None and o.year_to is not None:
                    gap = max(0, max(q.year_from, o.year_from) - min(q.year_to, o.year_to))
                    s[j] = max(0.0, 1.0 - gap / 50.0)
                    mask[j] = True
            sims["period"], present["period"] = s, mask
            methods["period"] = "overlap of year ranges; 0 at 50 years apart"

        num = np.zeros(n)
        den = np.zeros(n)
        for name, s in sims.items():
            w = FIELD_WEIGHTS[name] * present[name]
            # unrelated strings still share tokens (rapidfuzz ~0.3-0.5): evidence starts above that
            ev = np.clip((s - 0.4) / 0.6, 0.0, 1.0) if name in _RESCALED else s
            num += w * ev
            den += w
        text = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
        text = text * (0.6 + 0.4 * np.minimum(1.0, den / FULL_COVERAGE))
        if "title" in sims:
            # a different title on both sides is the strongest sign of a different object of the
            # same maker and lot (a series, a collection stolen together): discount beyond its weight
            title_ev = np.clip((sims["title"] - 0.4) / 0.6, 0.0, 1.0)
            text = np.where(present["title"], text * (0.75 + 0.25 * title_ev), text)
        out: list[Candidate] = []
        for j, i in enumerate(ci):
            o = self.objects[i]
            im, im_expl = image_hits.get(i, (0.0, None))
            ts = float(text[j])
            score = min(1.0, max(ts, im) + 0.15 * min(ts, im)) if im > 0 else ts
            if score < min_score:
                continue
            expl: list[dict[str, Any]] = []
            for name, s in sims.items():
                if not present[name][j]:
                    continue
                e: dict[str, Any] = {
                    "field": name,
                    "similarity": round(float(s[j]), 3),
                    "weight": FIELD_WEIGHTS[name],
                    "method": methods[name],
                    "query": _field_text(q, name),
                    "candidate": _field_text(o, name),
                }
                if name == "measurements":
                    e["query_cm"] = list(q.dims_cm)
                    e["candidate_cm"] = list(o.dims_cm)
                    e["max_relative_difference"] = round(dim_detail[j], 4)
                expl.append(e)
            if im_expl is not None:
                expl.append(im_expl)
            expl.sort(key=lambda e: -float(e["similarity"]) * float(e.get("weight", 0.5)))
            out.append(
                Candidate(
                    self.object_ids[i],
                    o.reference_number,
                    o.title,
                    o.maker,
                    round(score, 4),
                    round(ts, 4),
                    round(im, 4),
                    expl,
                )
            )
        out.sort(key=lambda c: (-c.score, c.object_id))
        return MatchResult(q, out[:top_n])

    def match_many(self, queries: Sequence[ArtObject], *, top_n: int = 5, min_score: float = 0.3) -> list[MatchResult]:
        return [self.match(q, top_n=top_n, min_score=min_score) for q in queries]


def _surname_initial(name: str) -> tuple[str, str]:
    toks = name.split()
    if not toks:
        return "", ""
    return toks[-1], (toks[0][0] if len(toks) > 1 else "")


def _field_text(o: ArtObject, name: str) -> str:
    if name == "description":
        return " ".join(x for x in (o.description, o.inscriptions, o.technique) if x)[:200]
    if name == "period":
        return o.period
    value = getattr(o, name, "")
    return str(value)
