"""Per-pattern reporting of the rules beside the model: model, TF rules, model ∪ TF rules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from filiere.rules import load_rules
from filiere.scoring.evaluate import rules_by_pattern, temporal_split
from filiere.scoring.features import FeatureSet


def test_union_recall_and_rule_load_per_pattern() -> None:
    n = 20
    split = temporal_split(n, (0.5, 0.25, 0.25))  # test: rows 15..19
    npo = np.zeros(n, np.int8)
    fan = np.zeros(n, np.int8)
    npo[[15, 16]] = 1  # an NPO rule fires on one NPO row and one clean row
    fan[[15, 17, 18, 19]] = 1  # a non-TF rule: not in the union
    table = pa.table({"tx_id": [f"t{i}" for i in range(n)], "rule_npo_pass_through": npo, "rule_fan_in": fan})
    fs = FeatureSet(table=table, names=["rule_npo_pass_through", "rule_fan_in"], categorical=[], docs={})
    y_te = np.array([1, 0, 1, 1, 0], np.int8)
    pred = np.array([False, False, True, False, False])
    types = np.array(["NPO-DIVERSION", None, "NPO-DIVERSION", "FAN-IN", None], dtype=object)
    typed = y_te.astype(bool) & np.array([t is not None for t in types])
    out = rules_by_pattern(fs, load_rules(), split, y_te, pred, types, typed)
    assert out["positives_by_pattern"] == {"FAN-IN": 1, "NPO-DIVERSION": 2}
    assert out["rules_recall_by_pattern"] == {"FAN-IN": 0.0, "NPO-DIVERSION": 0.5}
    assert out["union_recall_by_pattern"] == {"FAN-IN": 0.0, "NPO-DIVERSION": 1.0}
    assert out["rules_fired_by_pattern"] == {
        "NPO-DIVERSION": {"rule_npo_pass_through": 1, "rule_fan_in": 2},
        "FAN-IN": {"rule_fan_in": 1},
    }
    assert out["union_recall"] == 2 / 3
    assert out["union_precision"] == 2 / 3  # rows 15, 16 (rules), 17 (model): 15 and 17 laundering
    load = out["rule_load"]["rule_npo_pass_through"]
    assert load["vector"] == "npo" and load["precision"] == 0.5
    assert load["per_10k"] == 4000.0 and load["extra_per_10k"] == 4000.0
    assert out["tf_rules_extra_per_10k"] == 4000.0 and out["tf_rules_extra_precision"] == 0.5
