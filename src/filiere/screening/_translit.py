"""Transliteration-aware edit similarity of two canonical tokens (compiled).

A weighted Levenshtein distance over :func:`~filiere.screening.normalize.canon_token` forms, where
the edits that romanisation produces cost less than a plain edit:

* one short vowel for another ("Mohammed" / "Muhammad", "Omar" / "Umar", "Eyad" / "Iyad"):
  :data:`VOWEL_SUB`; a vowel or an ``h`` written or left out ("Moammar" / "Muammar", "Usama" /
  "Osama" with "bin Ladin" / "Laden"): :data:`VOWEL_INDEL`;
* consonants that render one Arabic, Persian or Cyrillic letter: ``k``/``g`` (qaf: "Qadhafi" /
  "Gaddafi"), ``z``/``d`` (dhal: "Qadhafi" / "Gaddafi"), ``b``/``p``, ``t``/``d``, ``f``/``v``,
  ``j``/``g`` (jim in Egypt: "Gamal" / "Jamal"), ``s``/``x`` (sin / shin read alike in Persian and
  Turkic names), ``k``/``x`` and ``j``/``i`` (Czech, Polish and German spellings of Russian and
  Ukrainian names: "Janukovič" / "Yanukovych"): :data:`CONSONANT_SUB`.

Every other edit costs 1; the similarity is ``1 − cost / longer length``. Used beside the plain
edit similarity (the larger one wins), never instead of it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

VOWEL_SUB = 0.3
VOWEL_INDEL = 0.65
CONSONANT_SUB = 0.4

_VOWELS = "aeiou"
_PAIRS = ("kg", "zd", "bp", "td", "fv", "jg", "sx", "kx", "ji")


def _tables() -> tuple[np.ndarray, np.ndarray]:
    sub = np.ones((128, 128), dtype=np.float64)
    indel = np.ones(128, dtype=np.float64)
    for i in range(128):
        sub[i, i] = 0.0
    for a in _VOWELS:
        indel[ord(a)] = VOWEL_INDEL
        for b in _VOWELS:
            if a != b:
                sub[ord(a), ord(b)] = VOWEL_SUB
    indel[ord("h")] = VOWEL_INDEL
    for pair in _PAIRS:
        a, b = pair[0], pair[1]
        sub[ord(a), ord(b)] = sub[ord(b), ord(a)] = CONSONANT_SUB
    return sub, indel


_SUB, _INDEL = _tables()


@njit(cache=True)
def _weighted(a: np.ndarray, b: np.ndarray, sub: np.ndarray, indel: np.ndarray) -> float:
    n, m = len(a), len(b)
    prev = np.empty(m + 1, dtype=np.float64)
    cur = np.empty(m + 1, dtype=np.float64)
    prev[0] = 0.0
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + indel[b[j - 1]]
    for i in range(1, n + 1):
        ca = a[i - 1]
        cur[0] = prev[0] + indel[ca]
        for j in range(1, m + 1):
            cb = b[j - 1]
            best = prev[j - 1] + sub[ca, cb]
            d = prev[j] + indel[ca]
            if d < best:
                best = d
            d = cur[j - 1] + indel[cb]
            if d < best:
                best = d
            cur[j] = best
        prev, cur = cur, prev
    return float(prev[m])


@njit(cache=True)
def _weighted_many(
    q: np.ndarray, buf: np.ndarray, ptr: np.ndarray, vids: np.ndarray, sub: np.ndarray, indel: np.ndarray
) -> np.ndarray:
    out = np.zeros(len(vids), dtype=np.float64)
    for i in range(len(vids)):
        v = vids[i]
        b = buf[ptr[v] : ptr[v + 1]]
        n = max(len(q), len(b))
        if n == 0:
            continue
        out[i] = max(0.0, 1.0 - _weighted(q, b, sub, indel) / n)
    return out


def pack(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Canonical tokens as one byte buffer and offsets (for :func:`translit_many`; a non-ASCII
    letter becomes "?", which no cheap edit reaches)."""
    raw = [t.encode("ascii", "replace") for t in tokens]
    ptr = np.zeros(len(raw) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in raw])
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8) if raw else np.zeros(0, dtype=np.uint8)
    return buf, ptr


def translit_many(q: str, buf: np.ndarray, ptr: np.ndarray, vids: np.ndarray) -> np.ndarray:
    """:func:`translit_similarity` of ``q`` with each packed token ``vids`` (one compiled call)."""
    if not q.isascii() or not len(vids):
        return np.zeros(len(vids), dtype=np.float64)
    qa = np.frombuffer(q.encode("ascii"), dtype=np.uint8)
    return np.asarray(_weighted_many(qa, buf, ptr, vids, _SUB, _INDEL))


def translit_similarity(a: str, b: str) -> float:
    """``1 − weighted edit cost / longer length`` of two canonical (ASCII) tokens (one pair: the
    matcher batches its candidates through :func:`translit_many`)."""
    if a == b:
        return 1.0
    if not b.isascii():
        return 0.0
    buf, ptr = pack([b])
    return float(translit_many(a, buf, ptr, np.zeros(1, dtype=np.int64))[0])
