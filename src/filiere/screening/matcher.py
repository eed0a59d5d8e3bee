"""The name index and the matcher.

Index: every list name is tokenised (:mod:`filiere.screening.normalize`); distinct canonical
tokens form a vocabulary with an inverse document frequency (rare tokens weigh more than
``mohamed`` or ``abu``) and blocking keys (exact, consonant skeleton, metaphone, one-deletion
neighbours). A query token is expanded to the similar vocabulary tokens through those keys only,
postings give the candidate names, and only the best candidates are aligned in full: never all pairs.

Scoring is a registry of named, weighted features (in the manner of nomenklatura's logic-v2): the
name alignment gives the base score, qualifiers (birth date, nationality, gender, identifiers,
schema, weak alias) raise or lower it, and each contributes a human-readable detail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from filiere.screening.crypto import canonical_address
from filiere.screening.models import Feature, ListEntity, Match
from filiere.screening.normalize import Token, phonetic, tokenize

DEFAULT_THRESHOLD = 0.70
#: candidates below this score are not reported at all
DEFAULT_CUTOFF = 0.50
MIN_TOKEN_SIM = 0.70


@dataclass(slots=True)
class MatcherConfig:
    threshold: float = DEFAULT_THRESHOLD
    cutoff: float = DEFAULT_CUTOFF
    #: weight of the list name's unmatched tokens relative to the query's (extra middle names cost less)
    extra_weight: float = 0.35
    #: names aligned in full per query
    candidates: int = 24
    weak_alias_penalty: float = 0.05

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> MatcherConfig:
        known = {k: float(v) if k != "candidates" else int(v) for k, v in section.items() if k in cls.__slots__}
        return cls(**known)  # type: ignore[arg-type]


def _deletes(s: str) -> list[str]:
    return [s[:i] + s[i + 1 :] for i in range(len(s))] if len(s) >= 4 else []


def token_similarity(q: Token, canon: str, skel: str) -> float:
    """Similarity of a query token to a vocabulary token, forgiving transliteration confusions."""
    if q.canon == canon:
        return 1.0
    lev = float(Levenshtein.normalized_similarity(q.canon, canon))
    if q.unvoweled:
        # Arabic script carries no short vowels: compare the consonant skeletons
        if q.skel == skel and len(skel) >= 2:
            return max(lev, 0.92 if len(skel) >= 3 else 0.85)
        sk = float(Levenshtein.normalized_similarity(q.skel, skel)) if len(skel) >= 3 else 0.0
        return max(lev, 0.9 * sk if sk >= 0.75 else 0.0)
    if q.skel == skel and len(skel) >= 3 and q.canon[0] == canon[0]:
        lev = max(lev, 0.85)
    elif len(q.canon) >= 5 and len(canon) >= 5 and phonetic(q.canon) == phonetic(canon):
        lev = max(lev, 0.8)
    return lev if lev >= MIN_TOKEN_SIM else 0.0


@dataclass(slots=True)
class Query:
    name: str
    schema: str | None = None
    birth_date: str | None = None
    country: str | None = None
    gender: str | None = None
    identifiers: Sequence[str] = ()


@dataclass(slots=True)
class _Aligned:
    score: float
    pairs: list[tuple[str, str, float]]
    q_unmatched: list[str]
    n_unmatched: list[str]


@dataclass(slots=True)
class _Scored:
    entity: ListEntity
    name: str
    weak: bool
    aligned: _Aligned
    features: list[Feature] = field(default_factory=list)
    score: float = 0.0


# ------------------------------------------------------------------------------ feature registry
FeatureFn = Callable[[Query, ListEntity, "_Scored"], tuple[float, str] | None]
FEATURES: dict[str, tuple[float, FeatureFn]] = {}


def feature(name: str, weight: float) -> Callable[[FeatureFn], FeatureFn]:
    """Register a qualifier: ``fn(query, entity, scored) -> (value in [-1, 1], detail) | None``."""

    def deco(fn: FeatureFn) -> FeatureFn:
        FEATURES[name] = (weight, fn)
        return fn

    return deco


def _years(dates: Iterable[str]) -> set[int]:
    return {int(d[:4]) for d in dates if len(d) >= 4 and d[:4].isdigit()}


@feature("birth_date", 0.08)
def _f_birth(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.birth_date or not e.birth_dates or e.schema != "Person":
        return None
    qd = q.birth_date.strip()
    if any(d == qd or (len(d) >= len(qd) and d.startswith(qd)) or qd.startswith(d) for d in e.birth_dates):
        return 1.0, f"birth date {qd} matches listed {', '.join(e.birth_dates[:3])}"
    qy, ey = _years([qd]), _years(e.birth_dates)
    if qy and ey and min(abs(a - b) for a in qy for b in ey) <= 1:
        return 0.3, f"birth year {qd[:4]} within a year of listed {', '.join(sorted(map(str, ey))[:3])}"
    return -2.0, f"birth date {qd} differs from listed {', '.join(e.birth_dates[:3])}"


@feature("country", 0.05)
def _f_country(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.country or not e.countries:
        return None
    c = q.country.strip().lower()
    if c in e.countries:
        return 1.0, f"country {c} is listed"
    return -1.0, f"country {c} not among listed {', '.join(e.countries[:4])}"


@feature("gender", 0.1)
def _f_gender(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.gender or not e.gender or q.gender.lower() == e.gender:
        return None
    return -1.0, f"gender {q.gender.lower()} differs from listed {e.gender}"


@feature("identifier", 0.25)
def _f_ident(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.identifiers or not e.identifiers:
        return None
    from filiere.screening.loaders import norm_identifier

    hits = {norm_identifier(i) for i in q.identifiers} & set(e.identifiers)
    if hits:
        return 1.0, f"identifier {sorted(hits)[0]} is listed"
    return None


@feature("schema", 0.25)
def _f_schema(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.schema or q.schema in ("LegalEntity", "Thing"):
        return None
    person_q, person_e = q.schema == "Person", e.schema == "Person"
    if person_q != person_e:
        return -1.0, f"query is a {q.schema}, listed entity a {e.schema}"
    return None


@feature("weak_alias", 1.0)
def _f_weak(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if s.weak:
        return -0.05, f"matched a low-quality alias {s.name!r}"
    return None


class NameIndex:
    """Blocking index and scorer over the names of a set of list entities."""

    def __init__(self, entities: Sequence[ListEntity], config: MatcherConfig | None = None) -> None:
        self.config = config or MatcherConfig()
        self.entities = list(entities)
        self.vocab: dict[str, int] = {}
        self.v_canon: list[str] = []
        self.v_skel: list[str] = []
        # one row per indexed name
        self.name_entity: list[int] = []
        self.name_text: list[str] = []
        self.name_weak: list[bool] = []
        self.name_tokens: list[tuple[int, ...]] = []
        self.addresses: dict[str, list[int]] = {}
        postings: list[list[int]] = []
        for ei, ent in enumerate(self.entities):
            for a in ent.crypto:
                addr = canonical_address(a.split(":", 1)[-1])
                self.addresses.setdefault(addr, []).append(ei)
            if ent.schema == "CryptoWallet":
                continue
            for weak, names in ((False, ent.names), (True, ent.weak_names)):
                for nm in names:
                    toks = tokenize(nm, ent.schema)
                    if not toks:
                        continue
                    ids: list[int] = []
                    for t in toks:
                        vid = self.vocab.get(t.canon)
                        if vid is None:
                            vid = self.vocab[t.canon] = len(self.v_canon)
                            self.v_canon.append(t.canon)
                            self.v_skel.append(t.skel)
                            postings.append([])
                        ids.append(vid)
                    nid = len(self.name_text)
                    for vid in set(ids):
                        postings[vid].append(nid)
                    self.name_entity.append(ei)
                    self.name_text.append(nm)
                    self.name_weak.append(weak)
                    self.name_tokens.append(tuple(ids))
        self.postings = [np.asarray(p, dtype=np.int32) for p in postings]
        df = np.array([len(p) for p in postings], dtype=np.float64)
        n = max(len(self.name_text), 1)
        self.idf = np.log((n + 1) / (df + 0.5)) if len(df) else np.zeros(0)
        self.idf_max = float(math.log(n + 1) + 0.7)
        # blocking keys → vocabulary ids
        self.by_skel: dict[str, list[int]] = {}
        self.by_phon: dict[str, list[int]] = {}
        self.by_del: dict[str, list[int]] = {}
        for vid, (c, s) in enumerate(zip(self.v_canon, self.v_skel, strict=True)):
            self.by_skel.setdefault(s, []).append(vid)
            if len(c) >= 4:
                self.by_phon.setdefault(phonetic(c), []).append(vid)
            for d in _deletes(c):
                self.by_del.setdefault(d, []).append(vid)
        self._expand_cache: dict[tuple[str, bool], list[tuple[int, float]]] = {}
        #: another index whose IDF weighs the query tokens (``compare`` scores a pair with the lists' IDF)
        self.weights_from: NameIndex | None = None

    # ---------------------------------------------------------------------------------- tokens
    def expand(self, t: Token) -> list[tuple[int, float]]:
        """Vocabulary tokens similar to ``t`` with their similarity (through blocking keys only)."""
        key = (t.canon, t.unvoweled)
        hit = self._expand_cache.get(key)
        if hit is not None:
            return hit
        cands: set[int] = set()
        exact = self.vocab.get(t.canon)
        if exact is not None:
            cands.add(exact)
        if t.unvoweled or len(t.skel) >= 3:
            cands.update(self.by_skel.get(t.skel, ()))
        if len(t.canon) >= 4:
            cands.update(self.by_phon.get(phonetic(t.canon), ()))
            cands.update(self.by_del.get(t.canon, ()))
            for d in _deletes(t.canon):
                cands.update(self.by_del.get(d, ()))
                v = self.vocab.get(d)
                if v is not None:
                    cands.add(v)
        out: list[tuple[int, float]] = []
        for vid in cands:
            s = token_similarity(t, self.v_canon[vid], self.v_skel[vid])
            if s > 0:
                out.append((vid, s))
        out.sort(key=lambda x: -x[1])
        if len(self._expand_cache) > 300_000:
            self._expand_cache.clear()
        self._expand_cache[key] = out
        return out

    def token_weight(self, t: Token, exp: list[tuple[int, float]]) -> float:
        if self.weights_from is not None:
            return self.weights_from.token_weight(t, self.weights_from.expand(t))
        if not exp:
            return self.idf_max
        best = exp[0][1]
        # among the most similar vocabulary tokens, the commonest one: conservative for skeletons
        return float(min(self.idf[v] for v, s in exp if s >= best - 1e-9))

    # ---------------------------------------------------------------------------------- names
    def align(self, qtoks: list[Token], qw: list[float], sims: list[dict[int, float]], nid: int) -> _Aligned:
        ntoks = self.name_tokens[nid]
        pairs: list[tuple[float, int, int]] = []
        for i, sd in enumerate(sims):
            for j, vid in enumerate(ntoks):
                s = sd.get(vid)
                if s:
                    pairs.append((s, i, j))
        pairs.sort(reverse=True)
        used_q: set[int] = set()
        used_n: set[int] = set()
        matched_q = matched_n = 0.0
        out: list[tuple[str, str, float]] = []
        for s, i, j in pairs:
            if i in used_q or j in used_n:
                continue
            used_q.add(i)
            used_n.add(j)
            matched_q += s * qw[i]
            matched_n += s * float(self.idf[ntoks[j]])
            out.append((qtoks[i].text, self.v_canon[ntoks[j]], s))
        total_q = sum(qw)
        total_n = float(sum(self.idf[v] for v in ntoks))
        beta = self.config.extra_weight
        score = (matched_q + beta * matched_n) / (total_q + beta * total_n) if total_q else 0.0
        return _Aligned(
            score,
            out,
            [qtoks[i].text for i in range(len(qtoks)) if i not in used_q],
            [self.v_canon[ntoks[j]] for j in range(len(ntoks)) if j not in used_n],
        )

    def candidates(self, sims: list[dict[int, float]], qw: list[float]) -> np.ndarray:
        arrays: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for sd, w in zip(sims, qw, strict=True):
            for vid, s in sd.items():
                p = self.postings[vid]
                arrays.append(p)
                vals.append(np.full(len(p), s * w))
        if not arrays:
            return np.zeros(0, dtype=np.int32)
        ids = np.concatenate(arrays)
        uniq, inv = np.unique(ids, return_inverse=True)
        sc = np.bincount(inv, np.concatenate(vals))
        k = self.config.candidates
        if len(uniq) > k:
            top = np.argpartition(-sc, k)[:k]
            return uniq[top]
        return uniq

    def search(
        self, q: Query, limit: int = 10, cutoff: float | None = None, exclude: Collection[int] = ()
    ) -> list[Match]:
        """Best entities for ``q``; ``exclude``: indexed name ids left out (leave-one-out evaluation)."""
        cfg = self.config
        cutoff = cfg.cutoff if cutoff is None else cutoff
        qtoks = tokenize(q.name, q.schema)
        if not qtoks or not self.name_text:
            return []
        exps = [self.expand(t) for t in qtoks]
        qw = [self.token_weight(t, e) for t, e in zip(qtoks, exps, strict=True)]
        sims = [dict(e) for e in exps]
        best: dict[int, _Scored] = {}
        for nid in self.candidates(sims, qw).tolist():
            if exclude and nid in exclude:
                continue
            al = self.align(qtoks, qw, sims, nid)
            ei = self.name_entity[nid]
            prev = best.get(ei)
            if prev is None or al.score > prev.aligned.score:
                best[ei] = _Scored(self.entities[ei], self.name_text[nid], self.name_weak[nid], al)
        out: list[Match] = []
        for sc in best.values():
            self._qualify(q, sc)
            if sc.score >= cutoff:
                out.append(self._to_match(sc))
        out.sort(key=lambda m: -m.score)
        return out[:limit]

    def _qualify(self, q: Query, sc: _Scored) -> None:
        al = sc.aligned
        detail = ", ".join(f"{a}{'=' if s >= 1 else '~'}{b} {s:.2f}" for a, b, s in al.pairs)
        if al.q_unmatched:
            detail += f"; query only: {' '.join(al.q_unmatched)}"
        if al.n_unmatched:
            detail += f"; listed only: {' '.join(al.n_unmatched)}"
        feats = [Feature("name", 1.0, al.score, f"{q.name!r} vs {sc.name!r}: {detail}")]
        score = al.score
        for name, (weight, fn) in FEATURES.items():
            res = fn(q, sc.entity, sc)
            if res is None:
                continue
            value, why = res
            feats.append(Feature(name, weight, value, why))
            score += weight * value
        sc.features = feats
        sc.score = min(max(score, 0.0), 1.0)

    def _to_match(self, sc: _Scored) -> Match:
        e = sc.entity
        return Match(
            entity_id=e.entity_id,
            list_id=e.entity_id.split(":", 1)[0] if ":" in e.entity_id else "",
            schema=e.schema,
            caption=e.caption,
            matched_name=sc.name,
            score=sc.score,
            match=sc.score >= self.config.threshold,
            features=sc.features,
            programs=e.programs,
        )

    def compare(self, name1: str, name2: str, schema: str | None = None) -> Match:
        """Score two names against each other (``filiere screen pairs``) with the index's IDF."""
        other = ListEntity(entity_id="pair:2", schema=schema or "LegalEntity", caption=name2, names=[name2])
        sub = NameIndex([other], self.config)
        # borrow this index's IDF for tokens it knows: rare tokens keep weighing more
        for canon, vid in sub.vocab.items():
            gv = self.vocab.get(canon)
            if gv is not None:
                sub.idf[vid] = self.idf[gv]
            else:
                sub.idf[vid] = self.idf_max
        sub.idf_max = self.idf_max
        sub.weights_from = self
        res = sub.search(Query(name1, schema=schema), limit=1, cutoff=0.0)
        if res:
            return res[0]
        return Match(
            "pair:2", "pair", other.schema, name2, name2, 0.0, False, [Feature("name", 1.0, 0.0, "no token in common")]
        )

    def search_address(self, address: str) -> list[Match]:
        from filiere.screening.crypto import check_address

        chk = check_address(address)
        key = canonical_address(address)
        out: list[Match] = []
        for ei in self.addresses.get(key, []):
            e = self.entities[ei]
            f = Feature("crypto_address", 1.0, 1.0, f"address {key} is listed ({chk.kind}: {chk.reason})")
            out.append(
                Match(e.entity_id, e.entity_id.split(":", 1)[0], e.schema, e.caption, key, 1.0, True, [f], e.programs)
            )
        return out
