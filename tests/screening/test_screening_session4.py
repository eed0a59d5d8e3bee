"""Issue #6, fourth round: voicing confusions, initials, the query's rarest word, the entity's
second-best name, and training data held apart from the benchmark's false-alert names."""

from __future__ import annotations

import numpy as np
import pytest

from filiere.screening import _kernels as _k
from filiere.screening.evalset import BENCH_SEED, TRAIN_SEED, benchmark_holdout, canon_key, generate_names
from filiere.screening.matcher import INITIAL_WEIGHT, MIN_TOKEN_SIM, VOICING_SIM, MatcherConfig, NameIndex, Query
from filiere.screening.models import ListEntity
from filiere.screening.normalize import devoiced, tokenize
from filiere.screening.train import best_entity_scores, calibrate_shift


def _index(*entities: tuple[str, list[str]], config: MatcherConfig | None = None) -> NameIndex:
    return NameIndex([ListEntity(eid, "Person", names[0], names=names) for eid, names in entities], config)


def _sim(idx: NameIndex, query: str, listed: str) -> float:
    (t,) = tokenize(query)
    vids, sims, _w = idx.expand(t)
    v = idx.vocab[tokenize(listed)[0].canon]
    hit = sims[vids == v]
    return float(hit[0]) if len(hit) else 0.0


def test_voicing_confusions_are_forgiven() -> None:
    assert devoiced("bong") == devoiced("pong") == "ponk"
    assert devoiced(tokenize("Chun")[0].canon) == devoiced(tokenize("Jun")[0].canon)
    idx = _index(("x:1", ["Paek Se Bong"]), ("x:2", ["Cho Yon Chun"]), ("x:3", ["Mehmed Ali"]))
    cal = VOICING_SIM**idx.config.sim_power
    # (at least the voicing similarity: the romanisation edit cost of b/p can rank it higher)
    assert _sim(idx, "Pong", "Bong") >= cal - 1e-9
    # a three-letter syllable is found through the voicing key alone (no skeleton, no deletions)
    assert _sim(idx, "Jun", "Chun") == pytest.approx(cal)
    assert _sim(idx, "Mehmet", "Mehmed") >= cal
    # only voicing: s/z and f/v stay apart ("Said" and "Zaid" are two names)
    assert devoiced("zaid") != devoiced("said")
    assert _sim(idx, "Poun", "Bong") < MIN_TOKEN_SIM
    top = idx.search(Query("Baek Se Pong"), cutoff=0.0)[0]
    assert top.entity_id == "x:1"


def test_initials_weigh_little() -> None:
    idx = _index(("x:1", ["Ahmed Abubakar K"]), ("x:2", ["Ahmed Abubakar Kabir"]))
    k = idx.vocab["k"]
    assert idx.idf[k] <= INITIAL_WEIGHT < idx.idf[idx.vocab["kabir"]]
    (t,) = tokenize("Q")  # an initial never seen on the list weighs as little
    assert idx.token_weight(t) <= INITIAL_WEIGHT
    # the listed initial left unmatched costs less than a listed word left unmatched
    prep = idx.prepare(Query("Ahmed Abubakar"))
    assert prep is not None
    with_k = idx.align(prep, 0).feat
    with_kabir = idx.align(prep, 1).feat
    assert with_k[_k.F_NCOVER] > with_kabir[_k.F_NCOVER]


def test_rarest_query_word_features() -> None:
    idx = _index(
        ("x:1", ["Abd al Latif al Kawwari", "Abd al Latif Abdallah"]),
        ("x:2", ["Abu Ali al Hakim"]),
        ("x:3", ["Abu Bakr"]),
        ("x:4", ["Ali Hassan"]),
    )
    prep = idx.prepare(Query("Abu Ali al-Kawari"))
    assert prep is not None
    target = idx.align(prep, 0).feat
    other = idx.align(prep, 2).feat
    # "kawari" is the query's rarest word: aligned exactly with the target's name, not with the other
    assert target[_k.F_Q_RAREST_HIT] == pytest.approx(1.0)
    assert other[_k.F_Q_RAREST_HIT] == 0.0
    assert target[_k.F_ENT_Q_RAREST_HIT] == pytest.approx(1.0)
    assert other[_k.F_ENT_Q_RAREST_HIT] == 0.0
    assert target[_k.F_ENT_RAREST] > other[_k.F_ENT_RAREST] > 0.0


def test_second_name_of_the_entity_adds_to_its_score() -> None:
    names = [("x:1", ["Salim Saleh Obol Ogaro", "Simon Obol"]), ("x:2", ["Salim Saleh Obol Ogaro"])]
    with_support = _index(*names)
    without = _index(*names, config=MatcherConfig(name_support=0.0))
    a = {m.entity_id: m for m in with_support.search(Query("Simon Salim Obol"), cutoff=0.0)}
    b = {m.entity_id: m for m in without.search(Query("Simon Salim Obol"), cutoff=0.0)}
    # x:1 has two names holding the query's words, x:2 one: only x:1 gains
    assert a["x:1"].score > b["x:1"].score
    assert a["x:2"].score == pytest.approx(b["x:2"].score)
    assert "also listed as" in a["x:1"].features[0].detail
    assert _k.aggregate(0.6, 0.5, 0.5) == pytest.approx(0.6 + 0.5 * 0.5 * 0.4)
    assert _k.aggregate(0.6, 0.0, 0.5) == 0.6


def test_calibration_counts_the_served_entity_score() -> None:
    # two queries; the first has one entity with two names (logit 0 each), the second one name
    z = np.array([[0.0, 0.0, -np.inf], [0.0, -np.inf, -np.inf]])
    ent = np.array([[7, 7, -1], [3, -1, -1]])
    best = best_entity_scores(z, ent, 0.5)
    assert best[0] == pytest.approx(0.5 + 0.5 * 0.5 * 0.5)
    assert best[1] == pytest.approx(0.5)
    shift = calibrate_shift(z, ent, 0.5, rate=0.5)  # one of the two queries may alert at 0.7
    served = best_entity_scores(z + shift, ent, 0.5)
    assert int((served >= 0.7).sum()) == 1


def test_training_names_are_held_apart_from_the_benchmarks() -> None:
    held = benchmark_holdout(3000)
    bench = {canon_key(n) for n in generate_names(3000, BENCH_SEED)}
    assert bench <= held
    train = [n for n in generate_names(3000, TRAIN_SEED) if canon_key(n) not in held]
    assert train and not {canon_key(n) for n in train} & bench
