"""Evaluation sets for the name matcher, shared by the scorer's training
(:mod:`filiere.screening.train`) and ``benchmarks/screening.py``.

* **Alias cases**: every alias of a list entity (every name but the primary, weak aliases
  included) is a query whose answer is that entity, with that one name left out of the index.
  ``variant``: the alias shares a word with the entity's other names; ``distinct``: it shares none;
  ``original``: an Arabic-script name.
* **Generated non-listed names**: a first name (sometimes two) and a surname from one of four
  pools (the benchmark's own and the scenario engine's name model ``filiere.scenario.names``).
  The seed decides the names: the benchmark reports on seed 7, the scorer is trained on seed 2024
  and its threshold calibrated on seed 99.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from filiere.screening.models import ListEntity
from filiere.screening.normalize import HONORIFICS, PARTICLES, script_of, to_latin, tokenize

#: generated-name seeds: the benchmark's, the training's and the threshold calibration's
BENCH_SEED = 7
TRAIN_SEED = 2024
CALIBRATION_SEED = 99

FIRST = {
    "west_african": "Aminata Mamadou Moussa Fatoumata Ousmane Boubacar Adama Awa Seydou Kadiatou Ibrahima Mariam "
    "Oumar Souleymane Aissata Cheick Modibo Salif Kofi Kwame Ama Yaw Abena Chukwuemeka Ngozi Oluwaseun Yetunde "
    "Babatunde Emeka Adaeze Sekou Lansana Fode Binta Djeneba Hawa Tidiane Alassane",
    "arabic": "Mohamed Ahmed Ali Omar Youssef Khaled Hassan Hussein Ibrahim Mustafa Karim Samir Nabil Rachid Said "
    "Tarek Walid Yasmine Fatima Khadija Amina Leila Nour Salma Zineb Hamza Bilal Anas Ayoub Mehdi Sofiane Nadia "
    "Rania Houda Imane Abdelaziz Abderrahmane Abdallah Mounir Jamal",
    "french": "Jean Pierre Marie Nicolas Camille Julien Sophie Isabelle Philippe Michel Laurent Nathalie Christophe "
    "Sandrine Olivier Thomas Claire Antoine Mathieu Celine Aurelie Sebastien Vincent Emilie Guillaume Helene",
    "english": "James John Robert Michael William David Richard Joseph Thomas Mary Patricia Jennifer Linda "
    "Elizabeth Susan Jessica Sarah Karen Emily Daniel Matthew Andrew Joshua Oliver Harry Charlotte Amelia",
}
LAST = {
    "west_african": "Traore Diallo Coulibaly Keita Konate Toure Sangare Diarra Sow Ba Ndiaye Diop Fall Sylla "
    "Camara Bah Barry Kone Ouedraogo Sawadogo Mensah Owusu Boateng Adeyemi Okafor Nwosu Balogun Okonkwo Sanogo Cisse "
    "Dembele Kante Fofana Doumbia Bamba Yeo Ouattara Kabore Zongo",
    "arabic": "Benali Haddad Mansour Khalil Saleh Nasser Hamdi Brahimi Bouzid Cherif Mekki Belkacem Amrani "
    "Tazi Alaoui Bennani Chraibi Idrissi Ziani Mahjoub Sassi Trabelsi Jaziri Gharbi Masri Haddadi Najjar Khoury "
    "Aziz Farouk Kabbani Rahmani Slimani Hakimi Bakri",
    "french": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre "
    "Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard Andre Mercier Dupont Lambert Bonnet Fontaine",
    "english": "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson White "
    "Harris Clark Lewis Walker Hall Allen Young King Wright Scott Green Baker Adams Nelson Hill Campbell",
}


#: the scenario generator's name model pools merged in (West African + Nigerian, Arabic, French, English)
_SCENARIO_POOLS = {"west_african": ("wa", "ng"), "arabic": ("ar",), "french": ("fr",), "english": ("en",)}


def _pool(which: dict[str, str], scen: dict[str, tuple[str, ...]], pool: str) -> list[str]:
    names = which[pool].split() + [n for k in _SCENARIO_POOLS[pool] for n in scen.get(k, ())]
    return list(dict.fromkeys(names))


def generate_names(n: int, seed: int = 7) -> list[str]:
    """Realistic non-listed names: a first name (sometimes two) and a surname from one of four pools
    (the benchmark's own and the scenario engine's name model, ``filiere.scenario.names``)."""
    from filiere.scenario import names as scen

    rng = random.Random(seed)
    pools = list(FIRST)
    firsts = {p: _pool(FIRST, scen.FIRST, p) for p in pools}
    lasts = {p: _pool(LAST, scen.LAST, p) for p in pools}
    out: list[str] = []
    for _ in range(n):
        pool = rng.choice(pools)
        first = firsts[pool]
        last = lasts[pool]
        parts = [rng.choice(first)]
        if rng.random() < 0.35:
            parts.append(rng.choice(first))
        parts.append(rng.choice(last))
        if pool == "arabic" and rng.random() < 0.3:
            parts.insert(-1, "El" if rng.random() < 0.5 else "Ben")
        out.append(" ".join(parts))
    return out


#: draws of the benchmark's seed held out of training and calibration (the benchmark draws three
#: names per false-alert name it needs: ``--fp-names`` up to 5,000 stay unseen by the scorer)
BENCH_HOLDOUT_DRAWS = 15_000


def benchmark_holdout(draws: int = BENCH_HOLDOUT_DRAWS) -> set[str]:
    """Folded keys (:func:`canon_key`) of every generated name the benchmark can draw: the pools are
    small, so other seeds repeat many of them ("Mohamed Traore"), and a name the scorer was
    trained or calibrated on must not count as an unseen false alert."""
    return {canon_key(n) for n in generate_names(draws, BENCH_SEED)}


def words(name: str) -> set[str]:
    return {w for w in to_latin(name).replace("-", " ").split() if len(w) > 1 and w not in PARTICLES | HONORIFICS}


def canon_key(name: str) -> str:
    """A name's folded token set: two spellings of one listed name share it."""
    return " ".join(sorted(t.canon for t in tokenize(name)))


@dataclass
class Case:
    entity: int
    name: str
    kind: str  # variant | distinct | original
    rare: bool = False  # variant sharing a word found in < 0.2 % of the list's names


def alias_cases(entities: list[ListEntity]) -> list[Case]:
    cases: list[Case] = []
    df: dict[str, int] = {}
    for e in entities:
        for n in e.names + e.weak_names:
            for w in words(n):
                df[w] = df.get(w, 0) + 1
    rare_below = 0.002 * sum(len(e.names) + len(e.weak_names) for e in entities)
    for ei, e in enumerate(entities):
        if e.schema == "CryptoWallet":
            continue
        all_names = e.names + e.weak_names
        for k, name in enumerate(all_names):
            rest = all_names[:k] + all_names[k + 1 :]
            if not rest:
                continue
            if script_of(name) != "latin":
                if script_of(name) == "arabic":
                    cases.append(Case(ei, name, "original"))
                continue
            if k == 0:
                continue  # the primary name is not an alias
            shared = words(name) & set().union(*(words(r) for r in rest if script_of(r) == "latin"))
            rare = any(df.get(w, 0) < rare_below for w in shared)
            cases.append(Case(ei, name, "variant" if shared else "distinct", rare))
    return cases


#: romanisation edits of one word (regex, replacements): what another transliteration of the same
#: Arabic, Persian, Cyrillic or Korean name changes (vowels, qaf k/q/g, dhal dh/z/d, kh/h, sh/ch, y/i…)
_ROMANISATION: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"(?<=[^aeiou])a(?=[^aeiou])", ("e", "o")),
    (r"(?<=[^aeiou])e(?=[^aeiou])", ("a", "i")),
    (r"(?<=[^aeiou])i(?=[^aeiou])", ("e", "ee", "y")),
    (r"(?<=[^aeiou])o(?=[^aeiou])", ("u", "ou")),
    (r"(?<=[^aeiou])u(?=[^aeiou])", ("o", "ou", "oo")),
    (r"^o", ("u",)),
    (r"^u", ("o",)),
    (r"^e", ("i",)),
    (r"^i", ("e",)),
    (r"ou", ("u", "o")),
    (r"ee", ("i",)),
    (r"y", ("i",)),
    (r"(?<=[aeiou])i(?=[aeiou])", ("y",)),
    (r"q", ("k", "g")),
    (r"k(?!h)", ("q", "c")),
    (r"(?<!s)h(?=[aeiou])", ("",)),
    (r"kh", ("h", "k", "ch")),
    (r"dh", ("z", "d", "th")),
    (r"z", ("dh", "s")),
    (r"th", ("t", "s")),
    (r"sh", ("ch", "sch", "s")),
    (r"ch", ("sh", "tch")),
    (r"j", ("dj", "g", "zh")),
    (r"w", ("ou", "v", "u")),
    (r"v", ("w",)),
    (r"([bdfklmnrst])\1", (r"\1",)),
    (r"(?<=[aeiou])([bdfklmnrst])(?=[aeiou])", (r"\1\1",)),
    (r"(?<=[aeiou])h$", ("",)),
    (r"a$", ("ah",)),
    (r"ph", ("f",)),
    (r"f", ("ph",)),
)
_ROMANISATION_RE = tuple((re.compile(p), reps) for p, reps in _ROMANISATION)


def romanisation_variant(name: str, rng: random.Random) -> str | None:
    """The name written in another romanisation: every word changed with probability 0.6 (at least
    one), by one or two of the edits above; sometimes a middle name left out or the article attached.
    ``None`` when no edit applies (a name of initials or digits). Training data for the scorer: the
    spellings of one name that share no word exactly ("Moammar Gaddafi" / "Muammar al-Qadhafi")."""
    words = name.lower().replace("-", " ").split()
    if not words:
        return None
    out: list[str] = []
    changed = False
    force = rng.randrange(len(words))
    for i, w in enumerate(words):
        if (i == force or rng.random() < 0.6) and len(w) >= 3 and w not in PARTICLES:
            for _ in range(1 + (rng.random() < 0.4)):
                options = [(p, r) for p, r in _ROMANISATION_RE if p.search(w)]
                if not options:
                    break
                pat, reps = rng.choice(options)
                hits = list(pat.finditer(w))
                m = rng.choice(hits)
                w2 = w[: m.start()] + m.expand(rng.choice(reps)) + w[m.end() :]
                changed |= w2 != w
                w = w2
        out.append(w)
    if len(out) >= 3 and rng.random() < 0.15:
        del out[rng.randrange(1, len(out) - 1)]
    if not changed:
        return None
    return " ".join(x.capitalize() for x in out if x)
