"""The feature catalogue: names, families, types and plain-words descriptions (alerts cite them).

Every feature of a transaction ``e`` (sender ``u``, receiver ``v``, time ``t``) is **causal**: it is
computed from ``e`` and the transactions before it, never after. Transactions are ordered by
timestamp, and transactions with the same timestamp by their order in the input (row order for a
file, arrival order for the streaming engine); a transaction sees itself and every transaction
earlier in that order whose time is within the window ``[t - window, t]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from filiere.graph.config import Family, FeatureConfig


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    family: Family
    integer: bool
    window: str  # which config key sets its window
    doc: str


def _s(name: str, family: Family, integer: bool, window: str, doc: str) -> FeatureSpec:
    return FeatureSpec(name, family, integer, window, doc)


_W = "window_h"
_SG = "sg_window_h"


def _stats(prefix: str, who: str, direction: str) -> list[FeatureSpec]:
    base = f"{direction} transactions of the {who} in the window (this one included)"
    gaps = f"time gaps in hours between consecutive {direction} transactions of the {who} in the window"
    return [
        _s(f"{prefix}_amt_sum", "stats", False, _W, f"total amount of the {base}"),
        _s(f"{prefix}_amt_mean", "stats", False, _W, f"average amount of the {base}"),
        _s(f"{prefix}_amt_var", "stats", False, _W, f"variance of the amounts of the {base}"),
        _s(f"{prefix}_amt_min", "stats", False, _W, f"smallest amount of the {base}"),
        _s(f"{prefix}_amt_max", "stats", False, _W, f"largest amount of the {base}"),
        _s(f"{prefix}_gap_mean", "stats", False, _W, f"average of the {gaps} (0 with fewer than two)"),
        _s(f"{prefix}_gap_var", "stats", False, _W, f"variance of the {gaps} (0 with fewer than two)"),
        _s(f"{prefix}_gap_min", "stats", False, _W, f"shortest of the {gaps} (0 with fewer than two)"),
        _s(f"{prefix}_gap_max", "stats", False, _W, f"longest of the {gaps} (0 with fewer than two)"),
    ]


FEATURES: tuple[FeatureSpec, ...] = (
    # degree and fan: edges counted with multiplicity (degree) or distinct counterparties (fan)
    _s("src_out_deg", "degree", True, _W, "payments the sender made in the window, this one included"),
    _s("src_in_deg", "degree", True, _W, "payments the sender received in the window"),
    _s("dst_out_deg", "degree", True, _W, "payments the receiver made in the window"),
    _s("dst_in_deg", "degree", True, _W, "payments the receiver received in the window, this one included"),
    _s("src_fan_out", "degree", True, _W, "distinct accounts the sender paid in the window (fan-out)"),
    _s("src_fan_in", "degree", True, _W, "distinct accounts that paid the sender in the window"),
    _s("dst_fan_out", "degree", True, _W, "distinct accounts the receiver paid in the window"),
    _s("dst_fan_in", "degree", True, _W, "distinct accounts that paid the receiver in the window (fan-in)"),
    *_stats("src_out", "sender", "outgoing"),
    *_stats("dst_in", "receiver", "incoming"),
    _s(
        "src_new_counterparty",
        "stats",
        True,
        _W,
        "1 if the sender had not paid this receiver earlier in the window (a new counterparty), else 0",
    ),
    # scatter-gather: s pays several intermediates m, each of which pays the receiver v
    _s(
        "sg_count",
        "scatter_gather",
        True,
        _SG,
        "number of accounts s that paid the sender and, through at least two different intermediaries "
        "(the sender among them), got money to the receiver within the window: scatter-gather schemes this "
        "payment completes",
    ),
    _s(
        "sg_max_width",
        "scatter_gather",
        True,
        _SG,
        "largest number of intermediaries between one such account s and the receiver (1 = a simple relay)",
    ),
    # gather-scatter: many pay a hub which pays many; the hub is the sender of this payment
    _s("gs_fan_in", "gather_scatter", True, _SG, "distinct accounts that paid the sender (the hub) in the window"),
    _s("gs_fan_out", "gather_scatter", True, _SG, "distinct accounts the sender (the hub) paid in the window"),
    _s(
        "gs_flag",
        "gather_scatter",
        True,
        _SG,
        "1 if the sender collected from at least two accounts and paid at least two (gather-scatter hub)",
    ),
    # bipartite and stack
    _s(
        "bip_co_senders",
        "bipartite",
        True,
        _SG,
        "other accounts that also paid the receiver and share another payee with the sender: with this payment "
        "they form a 2x2 bipartite block (two payers both paying the same two payees)",
    ),
    _s(
        "bip_co_receivers",
        "bipartite",
        True,
        _SG,
        "other payees of the sender that are also paid by another payer of the receiver (the same blocks, "
        "counted from the payee side)",
    ),
    _s(
        "stack_depth",
        "stack",
        True,
        _SG,
        "layers of a stacked bipartite scheme ending with this payment: 0 if it is in no bipartite block, "
        "else 1 + the deepest layer among the payments the sender received in the window",
    ),
    # cycles
    _s(
        "cycle_count",
        "cycle",
        True,
        "cycle_window_h",
        "temporal cycles this payment closes: chains of payments, each later than the one before, from the "
        "receiver back to the sender, through distinct accounts, at most cycle_max_len payments long with "
        "this one (saturates at cycle_count_cap)",
    ),
    _s("cycle_min_len", "cycle", True, "cycle_window_h", "payments in the shortest such cycle (0 if none)"),
    _s("cycle_present", "cycle", True, "cycle_window_h", "1 if this payment closes at least one cycle"),
    # peel chain
    _s(
        "peel_chain_len",
        "peel",
        True,
        "peel_gap_h",
        "length of the longest peel chain ending with this payment: each payment forwards a smaller part "
        "(at least peel_min_ratio) of an amount the sender received at most peel_gap_h before (1 = no chain)",
    ),
    # pass-through
    _s("pt_in_sum", "pass_through", False, "pass_through_window_h", "amount the sender received in the window"),
    _s(
        "pt_out_sum",
        "pass_through",
        False,
        "pass_through_window_h",
        "amount the sender paid out in the window, this payment included",
    ),
    _s("pt_ratio", "pass_through", False, "pass_through_window_h", "amount paid out divided by amount received"),
    _s(
        "pt_flag",
        "pass_through",
        True,
        "pass_through_window_h",
        "1 if the sender paid out about what it received within hours (balance near zero: a pass-through account)",
    ),
    # structuring
    _s(
        "struct_near",
        "structuring",
        True,
        "structuring_window_h",
        "1 if this is a cash payment just below the reporting threshold",
    ),
    _s(
        "struct_dst_count",
        "structuring",
        True,
        "structuring_window_h",
        "near-threshold cash payments into the receiver in the window",
    ),
    _s(
        "struct_dst_senders",
        "structuring",
        True,
        "structuring_window_h",
        "distinct accounts making those deposits (many depositors: smurfing)",
    ),
    _s(
        "struct_dst_banks",
        "structuring",
        True,
        "structuring_window_h",
        "distinct banks or branches those deposits came from",
    ),
    _s(
        "struct_src_count",
        "structuring",
        True,
        "structuring_window_h",
        "near-threshold cash payments made by the sender in the window",
    ),
    _s(
        "struct_src_receivers",
        "structuring",
        True,
        "structuring_window_h",
        "distinct accounts the sender made those payments into",
    ),
)

FEATURE_INDEX: dict[str, int] = {f.name: i for i, f in enumerate(FEATURES)}

#: plain-words description of every feature, for analysts and alert explanations
FEATURE_DOCS: dict[str, str] = {f.name: f.doc for f in FEATURES}


def enabled_features(config: FeatureConfig) -> list[FeatureSpec]:
    return [f for f in FEATURES if config.has(f.family)]
