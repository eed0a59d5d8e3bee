"""STIX 2.1 export of crypto indicators for OpenCTI and other threat-intelligence platforms.

Wallets are ``cryptocurrency-wallet`` observables, the custom observable OpenCTI defines (property
``value``), built with the ``stix2`` library's ``CustomObservable``; filiere's own properties use the
``x_filiere_`` prefix and OpenCTI's ``x_opencti_score``/``x_opencti_description``. Each tagged source
gets an indicator (pattern ``[cryptocurrency-wallet:value = '…']``) ``based-on`` its observable and
``indicates`` a malware family (ransomware) or a threat actor (terrorism, sanctions); each cash-out
point is an observable ``related-to`` the source with the tainted value traced to it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from filiere._lazy import require
from filiere.vectors.crypto.trace import TraceResult

_WALLET: Any = None


def wallet_class() -> Any:
    global _WALLET
    if _WALLET is None:
        stix2: Any = require("stix2", "vectors")
        props: Any = require("stix2.properties", "vectors")

        @stix2.CustomObservable(
            "cryptocurrency-wallet",
            [
                ("value", props.StringProperty(required=True)),
                ("x_opencti_description", props.StringProperty()),
                ("x_opencti_score", props.IntegerProperty()),
                ("x_filiere_chain", props.StringProperty()),
                ("x_filiere_label", props.StringProperty()),
            ],
            id_contrib_props=["value"],
        )
        class CryptocurrencyWallet:
            pass

        _WALLET = CryptocurrencyWallet
    return _WALLET


def bundle_for(
    results: list[TraceResult], tags: dict[str, tuple[str, str | None]], *, identity_name: str = "filiere"
) -> str:
    """A STIX 2.1 bundle (JSON text) of the traced sources, their cash-out points and relationships."""
    stix2: Any = require("stix2", "vectors")
    Wallet = wallet_class()
    now = datetime.now(UTC)
    author = stix2.Identity(name=identity_name, identity_class="organization")
    objects: dict[str, Any] = {author.id: author}
    wallets: dict[str, Any] = {}

    def wallet(account_id: str, **extra: Any) -> Any:
        if account_id not in wallets:
            chain, _, addr = account_id.partition(":")
            w = Wallet(value=addr or account_id, x_filiere_chain=chain if addr else None, allow_custom=True, **extra)
            wallets[account_id] = w
            objects[w.id] = w
        return wallets[account_id]

    for res in results:
        for src in res.sources:
            cat, label = tags.get(src, ("other", None))
            w = wallet(src, x_filiere_label=label, x_opencti_score=90, x_opencti_description=f"tagged {cat}")
            addr = w.value.replace("\\", "\\\\").replace("'", "\\'")
            ind = stix2.Indicator(
                name=f"{cat} wallet {w.value}",
                pattern=f"[cryptocurrency-wallet:value = '{addr}']",
                pattern_type="stix",
                valid_from=now,
                indicator_types=["malicious-activity"],
                labels=[cat, *([label] if label else [])],
                created_by_ref=author.id,
                allow_custom=True,
            )
            objects[ind.id] = ind
            rel = stix2.Relationship(ind, "based-on", w, created_by_ref=author.id)
            objects[rel.id] = rel
            if cat == "ransomware":
                actor = stix2.Malware(
                    name=label or "ransomware", is_family=True, malware_types=["ransomware"], created_by_ref=author.id
                )
            else:
                actor = stix2.ThreatActor(
                    name=label or f"{cat} actor",
                    threat_actor_types=["terrorist" if cat == "terrorism" else "criminal"],
                    created_by_ref=author.id,
                )
            objects.setdefault(actor.id, actor)
            ind_rel = stix2.Relationship(ind, "indicates", actor, created_by_ref=author.id)
            objects[ind_rel.id] = ind_rel
            for c in res.cash_outs:
                cw = wallet(
                    c.account_id,
                    x_filiere_label=c.label,
                    x_opencti_score=int(50 + 50 * c.share_of_inflow),
                    x_opencti_description="cash-out point of traced funds",
                )
                r = stix2.Relationship(
                    w,
                    "related-to",
                    cw,
                    description=(
                        f"{c.tainted_value:.8g} of tainted value traced to this address at hop {c.hop} "
                        f"({res.method} method; {c.share_of_source:.1%} of what left the source)"
                    ),
                    created_by_ref=author.id,
                    allow_custom=True,
                    x_filiere_tainted_value=c.tainted_value,
                    x_filiere_hop=c.hop,
                    x_filiere_method=res.method,
                )
                objects[r.id] = r
    bundle = stix2.Bundle(objects=list(objects.values()), allow_custom=True)
    text: str = bundle.serialize(pretty=True)
    json.loads(text)
    return text
