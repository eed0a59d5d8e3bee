"""Name normalisation for screening: script → Latin, case, diacritics, punctuation, honorifics,
legal forms, particles; then per-token keys that forgive transliteration confusions.

Three keys per token:

* ``canon``: lower-case ASCII with transliteration confusions folded (y/i, ou/u, dh/z, q/k, sh/ch,
  doubled letters…); compared by edit distance.
* ``skel``: the consonant skeleton of ``canon`` (vowels and y/w removed). Arabic script is written
  without short vowels, so an Arabic-script name transliterates to its skeleton ("aymn" for
  "Ayman"): the skeleton is what a Latin spelling and an Arabic one have in common.
* ``phon``: the metaphone key (rigour), for the blocking index.

Further blocking keys are computed from these: :func:`devoiced` (voicing of stops),
:func:`vowel_class` (vowels written alike) and :func:`consonant_class` (the consonants that
romanisation confuses written alike).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rigour.text.phonetics import metaphone
from rigour.text.translit import ascii_text

#: honorifics, titles and ranks dropped from person names
HONORIFICS = frozenset(
    """
    mr mrs ms miss mme mlle m dr doctor prof professor sir dame lord lady sheikh shaikh shaykh sheik cheikh haji
    hajji hadji alhaji alhadji mullah mulla maulana maulvi mawlawi mawlana mufti imam ayatollah hojatoleslam
    general gen colonel col major maj captain capt lieutenant lt sergeant sgt commander cdr brigadier admiral
    marshal rev reverend father fr pastor bishop hon honourable excellency he
    """.split()  # noqa: SIM905
)
#: particles that carry no identity (articles, "son of", "of") and are dropped
PARTICLES = frozenset(
    """
    al el ul bin ben ibn bn bint ould wuld ag de da di du del della der den van von vom zu y e the of and et und
    u i ur ud us uz ush ad ar as az ash
    """.split()  # noqa: SIM905
)

_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "x"),
    ("tch", "x"),
    ("tsh", "x"),
    ("sh", "x"),
    ("ch", "x"),
    ("kh", "h"),
    ("dh", "z"),
    ("th", "t"),
    ("gh", "g"),
    ("ph", "f"),
    ("zh", "j"),
    ("dj", "j"),
    ("ck", "k"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("q", "k"),
    ("c", "k"),
    ("y", "i"),
    ("w", "u"),
)
_DOUBLE = re.compile(r"(.)\1+")
_ABD = re.compile(r"^abd[aeiu]([lr])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VOWELS = re.compile(r"[aeiou]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
#: between two Hangul syllables: each is romanised on its own ("김정은" → "gim jeong eun", as "Kim Jong Un")
_HANGUL_GAP = re.compile(r"(?<=[\uac00-\ud7a3])(?=[\uac00-\ud7a3])")
_SPLIT = re.compile(r"[^\w]+|_")
#: apostrophe-like marks (ayin, hamza, backtick, acute accent) join a word: "jama`at" is one word
_APOSTROPHES = re.compile("['`?\u00b4\u02b9-\u02bf\u2018\u2019]")


@dataclass(frozen=True, slots=True)
class Token:
    """One name part with its comparison keys. ``unvoweled``: written without short vowels."""

    text: str
    canon: str
    skel: str
    unvoweled: bool


@lru_cache(maxsize=200_000)
def canon_token(tok: str) -> str:
    """Fold transliteration confusions: ``zawahiri``, ``dhawahri`` → ``zauahiri``, ``zauahri``."""
    for a, b in _RULES:
        if a in tok:
            tok = tok.replace(a, b)
    return _fold(tok)


@lru_cache(maxsize=200_000)
def canon_join(a: str, b: str) -> str:
    """Two adjacent canonical tokens written as one ("abd" + "hamid" → "abdhamid", as
    ``canon_token("abdelhamid")``): the digraph rules are not applied again across the join, where
    they would read a "d" + "h" as a dhal ("abzamid")."""
    return _fold(a + b)


def _fold(tok: str) -> str:
    tok = _DOUBLE.sub(r"\1", tok)
    m = _ABD.match(tok)
    if m:
        # "abdul", "abdel", "abdoul" (+ joined name): one form; "abdur-rahman" keeps the assimilated r
        tok = "abd" + ("r" if m.group(1) == "r" else "") + tok[m.end() :]
    if len(tok) > 3 and tok.endswith("h"):
        # a final h is silent in transliteration: "abdullah"/"abdulla", "binalshibh"/"binalshib"
        tok = tok[:-1]
    return tok


@lru_cache(maxsize=200_000)
def skeleton(canon: str) -> str:
    """Consonant skeleton of a canonical token (vowels dropped, doubled letters collapsed)."""
    if canon.isdigit():
        return canon
    return _DOUBLE.sub(r"\1", _VOWELS.sub("", canon))


_DEVOICE = str.maketrans("bdgj", "ptkx")


@lru_cache(maxsize=200_000)
def devoiced(canon: str) -> str:
    """A canonical token with its voiced stops written voiceless (b/p, d/t, g/k, j/ch): the
    romanisations of Korean (McCune-Reischauer "Paek Se Pong" / Revised "Baek Se Bong"), Chinese
    (Wade-Giles / pinyin), Turkish ("Mehmed" / "Mehmet") and Arabic without a p ("Patek" /
    "Batek") write one sound with either letter."""
    return canon.translate(_DEVOICE)


_CLASS = str.maketrans("gzptvx", "kdbdfk", "hj")
_VOWEL_CLASS = str.maketrans("eiou", "aaaa")


def vowel_class(canon: str) -> str:
    """A token with every vowel written "a": the blocking key of words that differ only in their
    vowels, short ones included ("choe" / "choi", "jong" / "jang"), which the skeleton key (three
    consonants at least) and the deletion keys (four letters) do not reach."""
    return canon.translate(_VOWEL_CLASS)


def consonant_class(skel: str) -> str:
    """A skeleton with the consonants romanisation confuses written alike (k/g, z/d/t, b/p, f/v,
    ch/č) and ``h`` and ``j`` (y in Slavic spellings: "Janukovič") dropped: the blocking key of
    :mod:`~filiere.screening._translit`'s edits ("" when shorter than three letters)."""
    c = skel.translate(_CLASS)
    return c if len(c) >= 3 else ""


@lru_cache(maxsize=200_000)
def phonetic(canon: str) -> str:
    return metaphone(canon) if canon.isalpha() else canon


def script_of(text: str) -> str:
    """``arabic``, ``han``, ``latin`` or ``other`` (the first non-Latin script found)."""
    if _ARABIC.search(text):
        return "arabic"
    if _HAN.search(text):
        return "han"
    return "latin"


@lru_cache(maxsize=100_000)
def to_latin(text: str) -> str:
    """Any script → lower-case ASCII (rigour's transliteration: ICU for Arabic, Han…)."""
    if not text.isascii():
        text = text.replace("\u0629", "\u0627")  # ta marbuta is pronounced -a: "فاطمة" → fatma
        text = _HANGUL_GAP.sub(" ", text)
        text = ascii_text(unicodedata.normalize("NFC", text))
    return text.lower()


def _org_strip(text: str) -> str:
    from rigour.names import remove_org_types

    stripped = remove_org_types(text, replacement=" ")
    return stripped if stripped.strip() else text


def name_words(text: str, schema: str | None = None) -> tuple[list[str], str]:
    """Latin words of a name after dropping honorifics, particles and (non-persons) legal forms."""
    script = script_of(text)
    # apostrophes go first: "jama'at" is one word, not "jama" + the legal form "AT"
    latin = _APOSTROPHES.sub("", to_latin(_APOSTROPHES.sub("", text)))
    if schema not in ("Person",):
        latin = _org_strip(latin)
    words = [w for w in _NON_ALNUM.split(latin) if w]
    if script == "arabic":
        # the article is written attached: "alzwahry" → "zwahry"
        words = [w[2:] if w.startswith("al") and len(w) > 4 else w for w in words]
    elif script == "han" and len(words) > 2:
        # Chinese syllables: surname, then the given name written as one word ("xi jinping")
        words = [words[0], "".join(words[1:])]
    out = [w for w in words if w not in PARTICLES and (schema == "Organization" or w not in HONORIFICS)]
    return (out or words), script


def tokenize(text: str, schema: str | None = None) -> list[Token]:
    """The comparable tokens of a name (see the module docstring)."""
    words, script = name_words(text, schema)
    unvoweled = script == "arabic"
    out: list[Token] = []
    for w in words:
        c = canon_token(w)
        if not c:
            continue
        out.append(Token(w, c, skeleton(c), unvoweled))
    return out


def normalize_display(text: str) -> str:
    """Normalised form of a name, for display in explanations and the pairs output."""
    return " ".join(t.canon for t in tokenize(text))
