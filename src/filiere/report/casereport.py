"""The case report: an HTML document (Jinja2) and its PDF (WeasyPrint).

Sections: summary and key figures, the network picture, the parties and accounts, the timeline,
the transaction table, screening hits, red flags with their evidence, and the audit trail: what an
investigator attaches to a request for mutual legal assistance.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from filiere import __version__
from filiere._lazy import require
from filiere.report.bundle import CaseBundle
from filiere.report.network import network_svg


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    ts: datetime
    kind: str
    text: str


def _evidence_text(item: Any) -> str:
    """One line of an alert's explanation (rules, features, patterns may be dicts or strings)."""
    if isinstance(item, dict):
        head = item.get("rule_id") or item.get("name") or item.get("feature") or item.get("pattern") or ""
        body = item.get("detail") or item.get("description") or item.get("summary")
        if body is None:
            rest = {k: v for k, v in item.items() if k not in ("rule_id", "name", "feature", "pattern")}
            body = ", ".join(f"{k}={v}" for k, v in rest.items())
        return f"{head}: {body}" if head else str(body)
    return str(item)


def _timeline(bundle: CaseBundle) -> list[TimelineEvent]:
    ev: list[TimelineEvent] = []
    for tx in bundle.transactions:
        fo, to = bundle.owner(tx.from_account), bundle.owner(tx.to_account)
        ev.append(
            TimelineEvent(
                tx.ts,
                "transaction",
                f"{tx.payment_format} {tx.amount_paid:,.2f} {tx.payment_currency} from "
                f"{fo.name if fo and fo.name else tx.from_account} to {to.name if to and to.name else tx.to_account}"
                f" ({tx.tx_id})",
            )
        )
    for a in bundle.alerts:
        ev.append(TimelineEvent(a.created_at, "alert", f"{a.severity} {a.source} alert {a.alert_id}: {a.title}"))
    c = bundle.case
    ev.append(TimelineEvent(c.created_at, "case", f"case {c.case_id} opened by {c.created_by}"))
    for e in bundle.audit:
        if e.ts is not None:
            ev.append(TimelineEvent(e.ts, "audit", f"{e.user}: {e.action} {e.target}"))
    ev.sort(key=lambda e: (e.ts, e.kind, e.text))
    return ev


def report_context(bundle: CaseBundle, *, generated_at: datetime | None = None) -> dict[str, Any]:
    totals: dict[str, float] = defaultdict(float)
    for tx in bundle.transactions:
        totals[tx.payment_currency] += tx.amount_paid
    alerts_of_tx: dict[str, list[str]] = defaultdict(list)
    for a in bundle.alerts:
        for t in a.tx_ids:
            alerts_of_tx[t].append(a.alert_id)
    period = (bundle.transactions[0].ts, bundle.transactions[-1].ts) if bundle.transactions else (None, None)
    svg = network_svg(bundle)
    red_flags = []
    for a in bundle.alerts:
        ex = a.explanation
        red_flags.append(
            {
                "alert": a,
                "rules": [_evidence_text(r) for r in ex.get("rules") or []],
                "features": [_evidence_text(f) for f in ex.get("features") or []],
                "patterns": [_evidence_text(p) for p in ex.get("patterns") or []],
                "parties": [bundle.party(p).label if bundle.party(p) else p for p in a.party_ids],  # type: ignore[union-attr]
                "accounts": list(a.account_ids),
                "transactions": list(a.tx_ids),
            }
        )
    return {
        "b": bundle,
        "case": bundle.case,
        "version": __version__,
        "generated_at": (generated_at or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0),
        "totals": sorted(totals.items()),
        "period": period,
        "network_svg": svg,
        "network_data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        "timeline": _timeline(bundle),
        "alerts_of_tx": alerts_of_tx,
        "red_flags": red_flags,
        "json": lambda v: json.dumps(v, default=str, ensure_ascii=False, sort_keys=True),
    }


def render_html(bundle: CaseBundle, *, generated_at: datetime | None = None) -> str:
    """The case report as one self-contained HTML document."""
    jinja2 = require("jinja2", "server")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("filiere.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: f"{v:,.2f}"
    env.filters["dt"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""
    template = env.get_template("case_report.html.j2")
    html: str = template.render(**report_context(bundle, generated_at=generated_at))
    return html


def render_pdf(bundle: CaseBundle, *, generated_at: datetime | None = None, html: str | None = None) -> bytes:
    """The case report as PDF (WeasyPrint)."""
    weasyprint = require("weasyprint", "report")
    doc = html if html is not None else render_html(bundle, generated_at=generated_at)
    pdf: bytes = weasyprint.HTML(string=doc).write_pdf()
    return pdf
