"""The name index and the matcher.

Index: every list name is tokenised (:mod:`filiere.screening.normalize`); distinct canonical
tokens form a vocabulary with an inverse document frequency (rare tokens weigh more than
``mohamed`` or ``abu``) and blocking keys (exact, consonant skeleton, metaphone, one-deletion
neighbours). A query token is expanded to the similar vocabulary tokens through those keys only,
postings give the candidate names, and only the best candidates are aligned in full: never all pairs.

Scoring: the compiled alignment describes each (query, listed name) pair by a few features
(coverage by IDF weight on each side, rarest token matched and left unmatched, similarity…), and a
learned logistic scorer (:mod:`filiere.screening.scorer`, in the manner of nomenklatura's
regression matchers) turns them into the name score. Qualifiers (birth date, nationality, gender,
identifiers, schema, weak alias, ambiguity) form a registry of named, weighted features (as in
logic-v2) that add to the name score's logit; each contributes a human-readable detail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from filiere.screening import _kernels as _k
from filiere.screening._translit import pack, translit_many, translit_similarity
from filiere.screening.crypto import canonical_address
from filiere.screening.models import Feature, ListEntity, Match
from filiere.screening.normalize import (
    Token,
    canon_join,
    consonant_class,
    devoiced,
    phonetic,
    skeleton,
    tokenize,
    vowel_class,
)
from filiere.screening.scorer import NameModel, default_model, logit, sigmoid

DEFAULT_THRESHOLD = 0.70
#: candidates below this score are not reported at all
DEFAULT_CUTOFF = 0.50
MIN_TOKEN_SIM = 0.70
#: similarity of a token written with the Arabic article attached ("alrawi") to the bare one ("rawi")
ATTACHED_ARTICLE_SIM = 0.95
#: a romanisation edit in a word of three or four letters must leave it at least this similar (one vowel)
SHORT_TRANSLIT_SIM = 0.85
#: similarity of two tokens that differ only in the voicing of stops ("pong" / "bong", "jun" / "chun")
VOICING_SIM = 0.85
IDF_MIN_NAMES = 20_000
#: most a one-letter token (an initial: "Ahmed, Abubakar K.") weighs: it says little about identity
INITIAL_WEIGHT = 2.0
#: most an alias shared by many entities loses, in logit units (log2(entities) / 4, capped at 1, × this)
AMBIGUITY_WEIGHT = 0.4
#: plausible birth years of a listed person (a birth-year match is worth log(BIRTH_YEARS / listed years))
BIRTH_YEARS = 60


@dataclass(slots=True)
class MatcherConfig:
    threshold: float = DEFAULT_THRESHOLD
    cutoff: float = DEFAULT_CUTOFF
    #: base score = w × the better-covered side + (1 − w) × the other; w = cover_weight when the
    #: query is the better covered (a partial name: an alias), extra_cover_weight when the list name
    #: is (the query carries words the list name lacks)
    cover_weight: float = 0.5
    extra_cover_weight: float = 0.2
    #: matched IDF weight (both sides), in units of a never-seen token's weight, at which the
    #: evidence is full; below, the score shrinks
    evidence_weight: float = 1.65
    #: how far weak evidence (only common tokens matched) lowers the score
    evidence_penalty: float = 0.8
    #: partial token similarities are raised to this power (1.0 stays 1.0, 0.85 → 0.72 at 2)
    sim_power: float = 2.5
    #: blocking: names ranked by weighted token overlap − rank_gamma × the name's own weight
    rank_gamma: float = 0.1
    #: the name score is raised to this power (monotone: ranks unchanged) so that the default
    #: threshold 0.7 sits at a 1 % false-alert rate on generated non-listed names (calibration)
    score_power: float = 0.66
    #: names aligned in full per query
    candidates: int = 32
    weak_alias_penalty: float = 0.05
    #: an entity's second-best aligned name adds this share of its score to the rest of the best
    #: one's (noisy-or over the entity's names: several names holding the query's words count more)
    name_support: float = 0.5
    #: name score from the learned pair scorer (``name_model.json``); false: the hand-set score
    learned: bool = True

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> MatcherConfig:
        known: dict[str, Any] = {}
        for k, v in section.items():
            if k not in cls.__slots__:
                continue
            if k == "candidates":
                known[k] = int(v)
            elif k == "learned":
                known[k] = v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
            else:
                known[k] = float(v)
        return cls(**known)

    def kernel_params(self, idf_max: float) -> np.ndarray:
        p = np.zeros(_k.N_PARAMS, dtype=np.float64)
        p[_k.P_LAMBDA] = self.cover_weight
        p[_k.P_LAMBDA_N] = self.extra_cover_weight
        p[_k.P_W0] = self.evidence_weight * idf_max
        p[_k.P_ALPHA] = self.evidence_penalty
        p[_k.P_RANK_GAMMA] = self.rank_gamma
        p[_k.P_POWER] = self.score_power
        p[_k.P_AGG] = self.name_support
        p[_k.P_IDF_MAX] = idf_max
        return p


def calibrate(sims: np.ndarray, power: float) -> np.ndarray:
    """Shrink partial token similarities (an exact token stays 1.0)."""
    return np.where(sims >= 1.0, 1.0, sims**power)


def joined_token(a: Token, b: Token) -> Token:
    """Two adjacent tokens written as one ("abdul" + "qader" → "abdkader")."""
    c = canon_join(a.canon, b.canon)
    return Token(a.text + b.text, c, skeleton(c), a.unvoweled)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _deletes(s: str) -> list[str]:
    return [s[:i] + s[i + 1 :] for i in range(len(s))] if len(s) >= 4 else []


def _shape(canon: str) -> str:
    """Consonant/vowel pattern: "ahmed" and "ahmad" share it, "hamdi" and "hamid" do not."""
    return "".join("v" if ch in "aeiou" else "c" for ch in canon)


_V = frozenset("aeiou")


def token_similarity(q: Token, canon: str, skel: str, unvoweled: bool = False, tr: float | None = None) -> float:
    """Similarity of a query token to a vocabulary token, forgiving transliteration confusions
    (``unvoweled``: the vocabulary token was written without short vowels, in Arabic script; ``tr``:
    the romanisation-edit similarity when already computed, batched, by :func:`translit_many`)."""
    if q.canon == canon:
        return 1.0
    lev = float(Levenshtein.normalized_similarity(q.canon, canon))
    if q.unvoweled or unvoweled:
        # Arabic script carries no short vowels: compare the consonant skeletons
        if q.skel == skel and len(skel) >= 2:
            return max(lev, 0.97 if len(skel) >= 3 else 0.93)
        sk = float(Levenshtein.normalized_similarity(q.skel, skel)) if len(skel) >= 3 else 0.0
        return max(lev, 0.9 * sk if sk >= 0.75 else 0.0)
    if q.skel == skel and len(skel) >= 3 and (q.canon[0] == canon[0] or (q.canon[0] in _V and canon[0] in _V)):
        # same consonants: a vowel spelt differently ("ahmed"/"ahmad", "islami"/"eslami") or moved
        # ("hamdi"/"hamid")
        lev = max(lev, 0.88 if _shape(q.canon) == _shape(canon) else 0.75)
    elif len(q.canon) >= 3 and len(q.canon) == len(canon) and devoiced(q.canon) == devoiced(canon):
        lev = max(lev, VOICING_SIM)
    elif len(q.canon) >= 5 and len(canon) >= 5 and phonetic(q.canon) == phonetic(canon):
        lev = max(lev, 0.8)
    if lev < 0.95 and min(len(q.canon), len(canon)) >= 3:
        # romanisation's own edits cost less: vowels, a dropped h, qaf k/g, dhal z/d… (_translit);
        # in a word of three or four letters, only one such edit ("choe" / "choi", not "ali" / "ila")
        if tr is None:
            tr = translit_similarity(q.canon, canon)
        if tr >= SHORT_TRANSLIT_SIM or min(len(q.canon), len(canon)) >= 5:
            lev = max(lev, tr)
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
    feat: np.ndarray


@dataclass(slots=True)
class _Scored:
    entity: ListEntity
    name: str
    weak: bool
    aligned: _Aligned | None = None
    features: list[Feature] = field(default_factory=list)
    score: float = 0.0


# ------------------------------------------------------------------------------ feature registry
# Qualifier weights are logit units. Their common scale (2.5 × log-likelihood-ratio-like base
# weights: birth year 2, country 1, identifier 4…) was chosen on UN variant aliases of persons
# carrying their entity's birth year and nationality against generated names of the calibration
# seed (99) carrying random ones: scale 1 / 2 / 2.5 / 3 gave recall 0.80 / 0.88 / 0.92 / 0.95 at
# 0.07 / 0.17 / 0.23 / 0.40 % false alerts (the learned name score puts non-matches far below 0.7,
# so weak evidence beside the name must weigh enough to count).
FeatureFn = Callable[[Query, ListEntity, "_Scored"], tuple[float, str] | None]
FEATURES: dict[str, tuple[float, FeatureFn]] = {}
#: the most each qualifier can add to the logit (value ≤ 1 × weight), for pruning before scoring
_GAINS: dict[str, float] = {}


def feature(name: str, weight: float, raises: bool = False) -> Callable[[FeatureFn], FeatureFn]:
    """Register a qualifier: ``fn(query, entity, scored) -> (value in [-1, 1], detail) | None``;
    ``weight × value`` is added to the logit of the name score (``raises``: the value can be > 0)."""

    def deco(fn: FeatureFn) -> FeatureFn:
        FEATURES[name] = (weight, fn)
        if raises:
            _GAINS[name] = weight
        return fn

    return deco


def _years(dates: Iterable[str]) -> set[int]:
    return {int(d[:4]) for d in dates if len(d) >= 4 and d[:4].isdigit()}


@feature("birth_date", 5.0, raises=True)
def _f_birth(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    """A match counts less when the entity lists many possible years (UN ranges are expanded): the
    chance that a random year falls among ``k`` of ~60 plausible ones is ``k / 60``, so the value is
    ``log(60 / k) / log(60)`` (1.0 for one year)."""
    if not q.birth_date or not e.birth_dates or e.schema != "Person":
        return None
    qd = q.birth_date.strip()
    qy, ey = _years([qd]), _years(e.birth_dates)
    rarity = min(1.0, max(0.1, math.log(BIRTH_YEARS / max(len(ey), 1)) / math.log(BIRTH_YEARS)))
    listed = ", ".join(e.birth_dates[:3]) + (f" (+{len(e.birth_dates) - 3})" if len(e.birth_dates) > 3 else "")
    if any(d == qd or (len(d) >= len(qd) and d.startswith(qd)) or qd.startswith(d) for d in e.birth_dates):
        return rarity, f"birth date {qd} matches listed {listed}"
    if qy and ey and min(abs(a - b) for a in qy for b in ey) <= 1:
        return 0.3 * rarity, f"birth year {qd[:4]} within a year of listed {listed}"
    return -1.0, f"birth date {qd} differs from listed {listed}"


@feature("country", 2.5, raises=True)
def _f_country(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.country or not e.countries:
        return None
    c = q.country.strip().lower()
    if c in e.countries:
        return 1.0, f"country {c} is listed"
    return -1.0, f"country {c} not among listed {', '.join(e.countries[:4])}"


@feature("gender", 3.75)
def _f_gender(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.gender or not e.gender or q.gender.lower() == e.gender:
        return None
    return -1.0, f"gender {q.gender.lower()} differs from listed {e.gender}"


@feature("identifier", 10.0, raises=True)
def _f_ident(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.identifiers or not e.identifiers:
        return None
    from filiere.screening.loaders import norm_identifier

    hits = {norm_identifier(i) for i in q.identifiers} & set(e.identifiers)
    if hits:
        return 1.0, f"identifier {sorted(hits)[0]} is listed"
    return None


@feature("schema", 5.0)
def _f_schema(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if not q.schema or q.schema in ("LegalEntity", "Thing"):
        return None
    person_q, person_e = q.schema == "Person", e.schema == "Person"
    if person_q != person_e:
        return -1.0, f"query is a {q.schema}, listed entity a {e.schema}"
    return None


@feature("weak_alias", 0.75)
def _f_weak(q: Query, e: ListEntity, s: _Scored) -> tuple[float, str] | None:
    if s.weak:
        return -1.0, f"matched a low-quality alias {s.name!r}"
    return None


@dataclass(slots=True)
class _Prepared:
    """A query in the kernel's terms: units (tokens, then joined adjacent pairs) and expansions."""

    texts: list[str]
    cover: np.ndarray  # int64 bit mask of covered query tokens, per unit
    weight: np.ndarray  # IDF weight covered, per unit
    total: float  # IDF weight of the query's tokens
    e_unit: np.ndarray
    e_vid: np.ndarray
    e_sim: np.ndarray
    bound: float  # most the qualifiers can add to the logit
    unvoweled: bool  # written without short vowels (Arabic script)


@dataclass(slots=True)
class _Explainer:
    """Builds a match's features when they are first read (the name alignment, spelt out)."""

    index: NameIndex
    query: Query
    prep: _Prepared | None  # None: prepared again when read (scores computed in a worker process)
    nid: int
    nid2: int  # the entity's second-best aligned name (−1: none)
    qualifiers: list[Feature]

    def __call__(self) -> list[Feature]:
        prep = self.prep if self.prep is not None else self.index.prepare(self.query)
        assert prep is not None
        return [self.index.name_feature(self.query, prep, self.nid, self.nid2), *self.qualifiers]


def _qualifier_bound() -> float:
    return sum(_GAINS.values())


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)
_NO_DUMP_NID = np.zeros((0, 1), dtype=np.int64)
_NO_DUMP_FEAT = np.zeros((0, 1, _k.N_FEAT), dtype=np.float64)
_NO_T_FEAT = np.zeros(0, dtype=np.int8)
_EMPTY_I32 = np.zeros(0, dtype=np.int32)
MAX_TOKENS = 24


class NameIndex:
    """Blocking index and scorer over the names of a set of list entities."""

    def __init__(self, entities: Sequence[ListEntity], config: MatcherConfig | None = None) -> None:
        self.config = config or MatcherConfig()
        self.entities = list(entities)
        self.vocab: dict[str, int] = {}
        self.v_canon: list[str] = []
        self.v_skel: list[str] = []
        self.v_joined: list[bool] = []
        self.v_unvoweled: list[bool] = []
        # one row per indexed name
        self.name_entity: list[int] = []
        self.name_text: list[str] = []
        self.name_weak: list[bool] = []
        self.name_tokens: list[tuple[int, ...]] = []
        self.addresses: dict[str, list[int]] = {}
        postings: list[list[int]] = []
        joined: list[tuple[int, int]] = []  # (vid, position) per name, CSR by nm_ptr
        nm_ptr = [0]
        name_keys: dict[str, set[int]] = {}

        def vid_of(canon: str, skel: str, is_joined: bool, unvoweled: bool) -> int:
            vid = self.vocab.get(canon)
            if vid is None:
                vid = self.vocab[canon] = len(self.v_canon)
                self.v_canon.append(canon)
                self.v_skel.append(skel)
                self.v_joined.append(is_joined)
                self.v_unvoweled.append(unvoweled)
                postings.append([])
            elif not is_joined:
                self.v_joined[vid] = False
            return vid

        for ei, ent in enumerate(self.entities):
            for a in ent.crypto:
                addr = canonical_address(a.split(":", 1)[-1])
                self.addresses.setdefault(addr, []).append(ei)
            if ent.schema == "CryptoWallet":
                continue
            for weak, names in ((False, ent.names), (True, ent.weak_names)):
                for nm in names:
                    toks = tokenize(nm, ent.schema)[:MAX_TOKENS]
                    if not toks:
                        continue
                    ids = [vid_of(t.canon, t.skel, False, t.unvoweled) for t in toks]
                    nid = len(self.name_text)
                    for j, t in enumerate(toks[:-1]):
                        jt = joined_token(t, toks[j + 1])
                        if jt.canon not in (toks[j].canon, toks[j + 1].canon):
                            joined.append((vid_of(jt.canon, jt.skel, True, jt.unvoweled), j))
                    nm_ptr.append(len(joined))
                    for vid in set(ids) | {v for v, _ in joined[nm_ptr[-2] :]}:
                        postings[vid].append(nid)
                    self.name_entity.append(ei)
                    self.name_text.append(nm)
                    self.name_weak.append(weak)
                    self.name_tokens.append(tuple(ids))
                    key = " ".join(sorted(t.canon for t in toks))
                    name_keys.setdefault(f"{ent.entity_id.split(':', 1)[0]}|{key}", set()).add(ei)
        n_names = len(self.name_text)
        # compact arrays for the kernel
        self.post_ptr = np.zeros(len(postings) + 1, dtype=np.int64)
        self.post_ptr[1:] = np.cumsum([len(p) for p in postings])
        self.post_idx = np.fromiter((n for p in postings for n in p), dtype=np.int64, count=int(self.post_ptr[-1]))
        self.nt_ptr = np.zeros(n_names + 1, dtype=np.int64)
        self.nt_ptr[1:] = np.cumsum([len(t) for t in self.name_tokens])
        self.nt_vid = np.fromiter((v for t in self.name_tokens for v in t), dtype=np.int64, count=int(self.nt_ptr[-1]))
        self.nm_ptr = np.asarray(nm_ptr, dtype=np.int64)
        self.nm_vid = np.asarray([v for v, _ in joined], dtype=np.int64)
        self.nm_pos = np.asarray([j for _, j in joined], dtype=np.int64)
        self.name_ent = np.asarray(self.name_entity, dtype=np.int64)
        # names are indexed entity by entity: entity e's names are ent_ptr[e]:ent_ptr[e + 1]
        self.ent_ptr = np.searchsorted(self.name_ent, np.arange(len(self.entities) + 1)).astype(np.int64)
        df = np.diff(self.post_ptr).astype(np.float64)
        # a small list cannot tell common tokens from rare ones: counts are read against at least
        # IDF_MIN_NAMES names, so that every token of a tiny list weighs as a rare one
        n = max(n_names, IDF_MIN_NAMES)
        self.idf = np.log((n + 1) / (df + 0.5)) if len(df) else np.zeros(0)
        self._initials = np.asarray([len(c) == 1 for c in self.v_canon], dtype=np.bool_)
        self._cap_initials()
        self.idf_max = float(math.log(n + 1) + 0.7)
        self.name_wtot = np.add.reduceat(self.idf[self.nt_vid], self.nt_ptr[:-1]) if n_names else _EMPTY_F
        #: how many entities of one list carry each name (sorted canonical tokens): ambiguity of an alias
        self.name_key_entities = {k: len(v) for k, v in name_keys.items() if len(v) > 1}
        self.name_shared = np.ones(n_names, dtype=np.int64)
        for nid, (ei, vids) in enumerate(zip(self.name_entity, self.name_tokens, strict=True)):
            key = " ".join(sorted(self.v_canon[v] for v in vids))
            self.name_shared[nid] = self.name_key_entities.get(
                f"{self.entities[ei].entity_id.split(':', 1)[0]}|{key}", 1
            )
        self.params = self.config.kernel_params(self.idf_max)
        self.model: NameModel | None = default_model() if self.config.learned else None
        self._walk = (_NO_T_FEAT, _EMPTY_I32, _EMPTY_F, _EMPTY_I)
        if self.model is not None:
            self.params[_k.P_SHIFT] = self.model.shift
            self.params[_k.P_GATE] = self.model.gate
            self._walk = (*self.model.walk_arrays(), self.model.roots)
        self._scr = np.zeros(len(self.v_canon), dtype=np.int64)
        self._acc = np.zeros(n_names, dtype=np.float64)
        # blocking keys → vocabulary ids (joined forms: exact and skeleton keys only)
        self.by_skel: dict[str, list[int]] = {}
        self.by_phon: dict[str, list[int]] = {}
        self.by_del: dict[str, list[int]] = {}
        self.by_voice: dict[str, list[int]] = {}
        self.by_class: dict[str, list[int]] = {}
        self.by_vowel: dict[str, list[int]] = {}
        for vid, (c, sk, jn) in enumerate(zip(self.v_canon, self.v_skel, self.v_joined, strict=True)):
            self.by_skel.setdefault(sk, []).append(vid)
            if jn:
                continue
            if len(c) >= 3:
                self.by_voice.setdefault(devoiced(c), []).append(vid)
                self.by_vowel.setdefault(vowel_class(c), []).append(vid)
            if len(c) >= 4:
                self.by_phon.setdefault(phonetic(c), []).append(vid)
                if ck := consonant_class(sk):
                    self.by_class.setdefault(ck, []).append(vid)
            for d in _deletes(c):
                self.by_del.setdefault(d, []).append(vid)
        self._vbuf, self._vptr = pack(self.v_canon)
        self._expand_cache: dict[tuple[str, bool, bool], tuple[np.ndarray, np.ndarray, float]] = {}
        self._joined_cache: dict[tuple[str, str, bool], Token] = {}
        #: compare Latin query tokens with Arabic-script list tokens by skeleton too: only for a pair
        #: (``compare``); in a list search a Latin query meets the entity's Latin aliases, and the
        #: skeleton alone is too loose there ("mohammed" / "mahmud": mhmd)
        self.skeleton_both_ways = False
        #: another index whose IDF weighs the query tokens (``compare`` scores a pair with the lists' IDF)
        self.weights_from: NameIndex | None = None

    # ---------------------------------------------------------------------------------- tokens
    def expand(self, t: Token, joined: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
        """Vocabulary tokens similar to ``t`` (ids, calibrated similarities) and ``t``'s IDF weight,
        through the blocking keys only (``joined``: a query's joined pair, exact and skeleton keys)."""
        key = (t.canon, t.unvoweled, joined)
        hit = self._expand_cache.get(key)
        if hit is not None:
            return hit
        cands: set[int] = set()
        exact = self.vocab.get(t.canon)
        if exact is not None:
            cands.add(exact)
        if t.unvoweled or len(t.skel) >= 3:
            cands.update(self.by_skel.get(t.skel, ()))
        if len(t.canon) >= 3 and not joined and not t.unvoweled:
            cands.update(self.by_voice.get(devoiced(t.canon), ()))
            cands.update(self.by_vowel.get(vowel_class(t.canon), ()))
        if len(t.canon) == 3 and not joined:
            # a listed token one letter longer ("iad" / "eiad": "Iyad" / "Eyad")
            cands.update(self.by_del.get(t.canon, ()))
        if len(t.canon) >= 4 and not joined:
            # (the lookups' order is the order candidates meet the alignment's ties: kept as trained)
            cands.update(self.by_phon.get(phonetic(t.canon), ()))
            if ck := consonant_class(t.skel):
                cands.update(self.by_class.get(ck, ()))
            cands.update(self.by_del.get(t.canon, ()))
            for d in _deletes(t.canon):
                cands.update(self.by_del.get(d, ()))
                v = self.vocab.get(d)
                if v is not None:
                    cands.add(v)
        vids: list[int] = []
        sims: list[float] = []
        order = list(cands)
        # the romanisation-edit similarities of all candidates in one compiled call (token_similarity
        # reads them on the Latin path only: an Arabic-script token is compared by skeleton)
        if t.unvoweled:
            trs = [0.0] * len(order)
        else:
            trs = translit_many(t.canon, self._vbuf, self._vptr, np.asarray(order, dtype=np.int64)).tolist()
        for vid, tr in zip(order, trs, strict=True):
            s = token_similarity(
                t, self.v_canon[vid], self.v_skel[vid], self.skeleton_both_ways and self.v_unvoweled[vid], tr
            )
            if s > 0:
                vids.append(vid)
                sims.append(s)
        if not joined and not t.unvoweled and len(t.canon) >= 4:
            # the Arabic article written attached in Latin ("Alrawi" for "al-Rawi"), on either side
            forms = [t.canon[2:]] if len(t.canon) >= 6 and t.canon[:2] in ("al", "el") else []
            for v in [self.vocab.get(f) for f in [*forms, "al" + t.canon, "el" + t.canon]]:
                if v is not None and v not in cands and v not in vids:
                    vids.append(v)
                    sims.append(ATTACHED_ARTICLE_SIM)
        va = np.asarray(vids, dtype=np.int64)
        sa = np.asarray(sims, dtype=np.float64)
        if self.weights_from is not None:
            w = self.weights_from.expand(t)[2]
        elif len(va):
            # among the most similar vocabulary tokens, the commonest one: conservative for skeletons
            best = sa.max()
            w = float(self.idf[va[sa >= best - 1e-9]].min())
        else:
            w = self.idf_max
        if len(t.canon) == 1:
            w = min(w, INITIAL_WEIGHT)
        out = (va, calibrate(sa, self.config.sim_power), w)
        if len(self._expand_cache) > 300_000:
            self._expand_cache.clear()
        self._expand_cache[key] = out
        return out

    def token_weight(self, t: Token) -> float:
        return self.expand(t)[2]

    def _joined(self, a: Token, b: Token) -> Token:
        key = (a.text, b.text, a.unvoweled)
        jt = self._joined_cache.get(key)
        if jt is None:
            if len(self._joined_cache) > 300_000:
                self._joined_cache.clear()
            jt = self._joined_cache[key] = joined_token(a, b)
        return jt

    def prepare(self, q: Query) -> _Prepared | None:
        toks = tokenize(q.name, q.schema)[:MAX_TOKENS]
        if not toks:
            return None
        exps = [self.expand(t) for t in toks]
        tw = [e[2] for e in exps]
        texts = [t.text for t in toks]
        covers = [1 << i for i in range(len(toks))]
        weights = list(tw)
        vids = [e[0] for e in exps]
        sims = [e[1] for e in exps]
        for i in range(len(toks) - 1):
            va, sa, _ = self.expand(self._joined(toks[i], toks[i + 1]), joined=True)
            if not len(va):
                continue
            texts.append(f"{toks[i].text}{toks[i + 1].text}")
            covers.append(3 << i)
            weights.append(tw[i] + tw[i + 1])
            vids.append(va)
            sims.append(sa)
        bound = _qualifier_bound() if (q.birth_date or q.country or q.identifiers) else 0.0
        return _Prepared(
            texts,
            np.asarray(covers, dtype=np.int64),
            np.asarray(weights, dtype=np.float64),
            float(sum(tw)),
            np.repeat(np.arange(len(vids), dtype=np.int64), [len(v) for v in vids]),
            np.concatenate(vids),
            np.concatenate(sims),
            bound,
            toks[0].unvoweled,
        )

    # ---------------------------------------------------------------------------------- names
    def score_batch(
        self,
        preps: Sequence[_Prepared | None],
        n_out: int,
        excludes: Sequence[Collection[int]] | None = None,
        dump: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kernel call: per query the best name per entity (``nid``, ``score``), best first, −1 padded,
        and the entity's second-best aligned name (``nid2``, −1: none) that adds to its score.

        ``dump``: ``(nid (nq, candidates), features (nq, candidates, N_FEAT))`` arrays the kernel
        fills with every aligned candidate name and its pair features (training the scorer)."""
        nq = len(preps)
        q_uoff = np.zeros(nq + 1, dtype=np.int64)
        e_off = np.zeros(nq + 1, dtype=np.int64)
        x_off = np.zeros(nq + 1, dtype=np.int64)
        q_wtot = np.zeros(nq, dtype=np.float64)
        covers: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        eu: list[np.ndarray] = []
        ev: list[np.ndarray] = []
        es: list[np.ndarray] = []
        xs: list[int] = []
        unv = np.zeros(nq, dtype=np.bool_)
        for i, p in enumerate(preps):
            if p is not None:
                unv[i] = p.unvoweled
                covers.append(p.cover)
                weights.append(p.weight)
                eu.append(p.e_unit)
                ev.append(p.e_vid)
                es.append(p.e_sim)
                q_wtot[i] = p.total
                q_uoff[i + 1] = q_uoff[i] + len(p.cover)
                e_off[i + 1] = e_off[i] + len(p.e_vid)
            else:
                q_uoff[i + 1] = q_uoff[i]
                e_off[i + 1] = e_off[i]
            if excludes is not None:
                xs.extend(excludes[i])
            x_off[i + 1] = len(xs)
        out_nid = np.full((nq, n_out), -1, dtype=np.int64)
        out_nid2 = np.full((nq, n_out), -1, dtype=np.int64)
        out_score = np.zeros((nq, n_out), dtype=np.float64)
        if not self.name_text or not nq:
            return out_nid, out_score, out_nid2
        _k.search_batch(
            q_uoff, _cat(covers, np.int64), _cat(weights, np.float64), q_wtot,
            e_off, _cat(eu, np.int64), _cat(ev, np.int64), _cat(es, np.float64),
            x_off, np.asarray(xs, dtype=np.int64),
            self.post_ptr, self.post_idx, self.nt_ptr, self.nt_vid, self.nm_ptr, self.nm_vid, self.nm_pos,
            self.name_wtot, self.name_ent, self.ent_ptr, self.idf, self.params,
            max(self.config.candidates, n_out), self._scr, self._acc, out_nid, out_score, out_nid2,
            unv, *self._trees(), *(dump if dump is not None else (_NO_DUMP_NID, _NO_DUMP_FEAT)),
        )  # fmt: skip
        return out_nid, out_score, out_nid2

    def _trees(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self._walk

    def align(self, p: _Prepared, nid: int) -> _Aligned:
        """The alignment behind a score, for its explanation (same compiled code as the search)."""
        # own pair buffers: explanations are built lazily, possibly while another thread searches
        pu, pn, ps = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64), np.empty(64, dtype=np.float64)
        feat = np.zeros(_k.N_FEAT, dtype=np.float64)
        score, npairs, _qm, _nm = _k.explain_pair(
            p.cover, p.weight, p.total, p.e_unit, p.e_vid, p.e_sim, nid, self._scr,
            self.nt_ptr, self.nt_vid, self.nm_ptr, self.nm_vid, self.nm_pos, self.idf, self.name_wtot, self.params,
            pu, pn, ps, p.unvoweled, feat, int(self.name_ent[nid]), self.ent_ptr,
        )  # fmt: skip
        if self.model is not None:
            score = self.model.score(feat)
        ntoks = self.name_tokens[nid]
        a, b = int(self.nm_ptr[nid]), int(self.nm_ptr[nid + 1])
        pairs: list[tuple[str, str, float]] = []
        qmask = nmask = 0
        for i in range(min(npairs, 64)):
            u, jj, s = int(pu[i]), int(pn[i]), float(ps[i])
            qmask |= int(p.cover[u])
            if jj < len(ntoks):
                nmask |= 1 << jj
                pairs.append((p.texts[u], self.v_canon[ntoks[jj]], s))
            else:
                j = int(self.nm_pos[a + jj - len(ntoks)])
                nmask |= 3 << j
                pairs.append((p.texts[u], self.v_canon[int(self.nm_vid[a + jj - len(ntoks)])], s))
        del b
        n_single = sum(1 for c in p.cover.tolist() if c & (c - 1) == 0)
        return _Aligned(
            float(score),
            pairs,
            [p.texts[i] for i in range(n_single) if not qmask >> i & 1],
            [self.v_canon[v] for j, v in enumerate(ntoks) if not nmask >> j & 1],
            feat,
        )

    def search(
        self, q: Query, limit: int = 10, cutoff: float | None = None, exclude: Collection[int] = ()
    ) -> list[Match]:
        """Best entities for ``q``; ``exclude``: indexed name ids left out (leave-one-out evaluation)."""
        return self.search_many([q], limit, cutoff, [exclude] if exclude else None)[0]

    def search_many(
        self,
        queries: Sequence[Query],
        limit: int = 10,
        cutoff: float | None = None,
        excludes: Sequence[Collection[int]] | None = None,
    ) -> list[list[Match]]:
        """:meth:`search` for a batch: one compiled pass; Python builds only the reported matches."""
        preps = [self.prepare(q) for q in queries]
        out_nid, out_score, out_nid2 = self.score_batch(preps, max(limit + 4, 12), excludes)
        bounds = np.asarray([p.bound if p is not None else np.inf for p in preps], dtype=np.float64)
        return self.matches(queries, out_nid, out_score, bounds, limit, cutoff, preps, out_nid2)

    def score_queries(
        self, queries: Sequence[Query], limit: int = 10, excludes: Sequence[Collection[int]] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The compiled part of :meth:`search_many`, as compact arrays: per query the best names
        (``nid``, −1 padded) and name scores, the most its qualifiers can add (``inf``: no
        tokens), and each entity's second-best name. A worker process returns these;
        :meth:`matches` turns them into matches."""
        preps = [self.prepare(q) for q in queries]
        out_nid, out_score, out_nid2 = self.score_batch(preps, max(limit + 4, 12), excludes)
        bounds = np.asarray([p.bound if p is not None else np.inf for p in preps], dtype=np.float64)
        return out_nid, out_score, bounds, out_nid2

    def matches(
        self,
        queries: Sequence[Query],
        out_nid: np.ndarray,
        out_score: np.ndarray,
        bounds: np.ndarray,
        limit: int = 10,
        cutoff: float | None = None,
        preps: Sequence[_Prepared | None] | None = None,
        out_nid2: np.ndarray | None = None,
    ) -> list[list[Match]]:
        """Matches from :meth:`score_queries`' arrays: qualifiers applied, explanations left lazy."""
        cutoff = self.config.cutoff if cutoff is None else cutoff
        # the lowest name score the qualifiers could still lift to the cutoff (bounds: logit units)
        with np.errstate(over="ignore"):
            lowest = 1.0 / (1.0 + np.exp(bounds - logit(cutoff))) if cutoff > 0 else np.zeros_like(bounds)
        keep = (out_nid >= 0) & (out_score >= lowest[:, None] - 1e-12)
        results: list[list[Match]] = [[] for _ in queries]
        rows, cols = np.nonzero(keep)
        threshold = self.config.threshold
        nid2s = out_nid2[rows, cols].tolist() if out_nid2 is not None else [-1] * len(rows)
        for qi, nid, nid2, base in zip(
            rows.tolist(), out_nid[rows, cols].tolist(), nid2s, out_score[rows, cols].tolist(), strict=True
        ):
            q = queries[qi]
            ei = self.name_entity[nid]
            ent = self.entities[ei]
            sc = _Scored(ent, self.name_text[nid], self.name_weak[nid])
            score, feats = self._qualify(q, sc, nid, base)
            if score < cutoff:
                continue
            p = preps[qi] if preps is not None else None
            results[qi].append(
                Match(
                    ent.entity_id,
                    ent.entity_id.split(":", 1)[0] if ":" in ent.entity_id else "",
                    ent.schema,
                    ent.caption,
                    sc.name,
                    score,
                    score >= threshold,
                    programs=ent.programs,
                    explain=_Explainer(self, q, p, nid, nid2, feats),
                )
            )
        for out in results:
            if len(out) > 1:
                out.sort(key=lambda m: -m.score)
            del out[limit:]
        return results

    def _qualify(self, q: Query, sc: _Scored, nid: int, base: float) -> tuple[float, list[Feature]]:
        """Score with the qualifiers (name score from the kernel), and the qualifiers' features.

        Each qualifier adds ``weight × value`` to the logit of the name score (evidence beside the
        name, as a log-likelihood ratio); with none, the score is the name score."""
        feats: list[Feature] = []
        z = 0.0
        shared = int(self.name_shared[nid])
        if shared > 1:
            pen = -min(math.log2(shared) / 4.0, 1.0)
            feats.append(
                Feature("ambiguity", AMBIGUITY_WEIGHT, pen, f"name {sc.name!r} is listed for {shared} entities")
            )
            z += AMBIGUITY_WEIGHT * pen
        for name, (weight, fn) in FEATURES.items():
            res = fn(q, sc.entity, sc)
            if res is None:
                continue
            value, why = res
            feats.append(Feature(name, weight, value, why))
            z += weight * value
        if not feats:
            return base, feats
        return sigmoid(logit(base) + z), feats

    def name_feature(self, q: Query, p: _Prepared, nid: int, nid2: int = -1) -> Feature:
        """The name feature: the alignment behind the name score, spelt out (``nid2``: the entity's
        second-best aligned name, whose score adds to the best one's: :func:`_kernels.aggregate`)."""
        al = self.align(p, nid)
        detail = ", ".join(f"{a}{'=' if s >= 1 else '~'}{b} {s:.2f}" for a, b, s in al.pairs)
        if al.q_unmatched:
            detail += f"; query only: {' '.join(al.q_unmatched)}"
        if al.n_unmatched:
            detail += f"; listed only: {' '.join(al.n_unmatched)}"
        if self.model is not None:
            detail += f"; {self.model.explain(al.feat)}"
        score = al.score
        if nid2 >= 0 and self.config.name_support > 0.0:
            s2 = self.align(p, nid2).score
            score = _k.aggregate(al.score, s2, self.config.name_support)
            if score > al.score + 5e-4:
                detail += f"; also listed as {self.name_text[nid2]!r} ({s2:.2f}): {score - al.score:+.2f}"
        return Feature("name", 1.0, score, f"{q.name!r} vs {self.name_text[nid]!r}: {detail}")

    def _cap_initials(self) -> None:
        """One-letter tokens (initials: "Ahmed, Abubakar K.") weigh at most :data:`INITIAL_WEIGHT`."""
        if len(self.idf):
            self.idf[self._initials] = np.minimum(self.idf[self._initials], INITIAL_WEIGHT)

    def borrow_weights(self, other: NameIndex) -> None:
        """Weigh tokens (names' and queries') with ``other``'s IDF: rare tokens keep weighing more
        in a small index (a pair; training on one list with the token frequencies of all)."""
        for canon, vid in self.vocab.items():
            gv = other.vocab.get(canon)
            self.idf[vid] = other.idf[gv] if gv is not None else other.idf_max
        self._cap_initials()
        self.idf_max = other.idf_max
        learned = self.params[[_k.P_SHIFT, _k.P_GATE]]
        self.params = self.config.kernel_params(self.idf_max)
        self.params[[_k.P_SHIFT, _k.P_GATE]] = learned
        self.name_wtot = np.add.reduceat(self.idf[self.nt_vid], self.nt_ptr[:-1]) if len(self.nt_ptr) > 1 else _EMPTY_F
        self.weights_from = other
        self._expand_cache.clear()

    def compare(self, name1: str, name2: str, schema: str | None = None) -> Match:
        """Score two names against each other (``filiere screen pairs``) with the index's IDF."""
        other = ListEntity(entity_id="pair:2", schema=schema or "LegalEntity", caption=name2, names=[name2])
        sub = NameIndex([other], self.config)
        sub.borrow_weights(self)
        sub.skeleton_both_ways = True
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
