"""The network picture of a case, as a self-contained SVG (no graph library needed).

Nodes are accounts (labelled with their holder), edges the case's transactions aggregated per
ordered pair of accounts. The layout is a seeded Fruchterman–Reingold in numpy: the same case
always draws the same picture, so reports are reproducible.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from html import escape

import numpy as np

from filiere.report.bundle import CaseBundle

WIDTH, HEIGHT, MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 760, 480, 120, 40, 80

COLOURS = {"Person": "#2f6db5", "Company": "#c77c12", "Organization": "#7a4fb0", "LegalEntity": "#c77c12"}
UNKNOWN = "#7f7f7f"
FLAGGED = "#c0392b"


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    label: str
    sublabel: str
    colour: str
    flagged: bool


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    count: int
    amounts: dict[str, float]


def case_graph(bundle: CaseBundle) -> tuple[list[Node], list[Edge]]:
    flagged_parties = {h.party_id for h in bundle.screening_hits if h.party_id} | {
        p for a in bundle.alerts for p in a.party_ids
    }
    flagged_accounts = {a for al in bundle.alerts for a in al.account_ids}
    nodes: list[Node] = []
    for acc in bundle.accounts:
        owner = bundle.owner(acc.account_id)
        nodes.append(
            Node(
                node_id=acc.account_id,
                label=(owner.name if owner and owner.name else acc.account_number)[:28],
                sublabel=f"{acc.bank_name or acc.bank} · {acc.account_number}"[:34],
                colour=COLOURS.get(owner.schema, UNKNOWN) if owner else UNKNOWN,
                flagged=acc.account_id in flagged_accounts or bool(owner and owner.party_id in flagged_parties),
            )
        )
    agg: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for tx in bundle.transactions:
        key = (tx.from_account, tx.to_account)
        agg[key][tx.payment_currency] += tx.amount_paid
        counts[key] += 1
    edges = [Edge(s, d, counts[(s, d)], dict(agg[(s, d)])) for (s, d) in agg]
    return nodes, edges


def layout(n: int, edges: list[tuple[int, int]], *, iterations: int = 200, seed: int = 7) -> np.ndarray:
    """Fruchterman–Reingold positions in [0, 1]², deterministic for a given graph."""
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.array([[0.5, 0.5]])
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    rng = np.random.default_rng(seed)
    pos = np.c_[np.cos(angles), np.sin(angles)] * 0.4 + 0.5 + rng.normal(0, 0.01, (n, 2))
    k = math.sqrt(1.0 / n)
    temp = 0.1
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        disp = (delta / dist[..., None] * (k * k / dist)[..., None]).sum(axis=1)
        if len(e):
            d = pos[e[:, 0]] - pos[e[:, 1]]
            dl = np.maximum(np.linalg.norm(d, axis=1), 1e-3)
            f = d / dl[:, None] * (dl * dl / k)[:, None]
            np.add.at(disp, e[:, 0], -f)
            np.add.at(disp, e[:, 1], f)
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, temp)[:, None]
        temp *= 0.98
    pos -= pos.min(axis=0)
    span = pos.max(axis=0)
    span[span == 0] = 1
    return np.asarray(pos / span)


def _fmt_amounts(amounts: dict[str, float]) -> str:
    return " + ".join(f"{v:,.0f} {c}" for c, v in sorted(amounts.items()))


def network_svg(bundle: CaseBundle) -> str:
    """The case graph as an SVG document (text)."""
    nodes, edges = case_graph(bundle)
    index = {n.node_id: i for i, n in enumerate(nodes)}
    pairs = [(index[e.src], index[e.dst]) for e in edges if e.src in index and e.dst in index]
    pos = layout(len(nodes), pairs)
    xy = [
        (MARGIN_X + p[0] * (WIDTH - 2 * MARGIN_X), MARGIN_TOP + p[1] * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM))
        for p in pos
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    radius = 14
    max_count = max((e.count for e in edges), default=1)
    for e in edges:
        if e.src not in index or e.dst not in index:
            continue
        (x1, y1), (x2, y2) = xy[index[e.src]], xy[index[e.dst]]
        if e.src == e.dst:
            out.append(
                f'<path d="M {x1:.1f} {y1 - radius:.1f} c -30 -40 30 -40 {0:.1f} 0" fill="none" stroke="#555" '
                'marker-end="url(#arrow)"/>'
            )
            continue
        dx, dy = x2 - x1, y2 - y1
        dist = max(math.hypot(dx, dy), 1e-6)
        ux, uy = dx / dist, dy / dist
        # bend the edge a little so that A->B and B->A do not overlap
        mx, my = (x1 + x2) / 2 - uy * 18, (y1 + y2) / 2 + ux * 18
        sx, sy, tx, ty = x1 + ux * radius, y1 + uy * radius, x2 - ux * (radius + 2), y2 - uy * (radius + 2)
        width = 1.2 + 2.5 * e.count / max_count
        out.append(
            f'<path d="M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {tx:.1f} {ty:.1f}" fill="none" stroke="#555" '
            f'stroke-width="{width:.1f}" marker-end="url(#arrow)"/>'
        )
        label = f"{e.count}× {_fmt_amounts(e.amounts)}"
        lx, ly = (sx + 2 * mx + tx) / 4, (sy + 2 * my + ty) / 4  # the curve's midpoint
        out.append(
            f'<text x="{lx:.1f}" y="{ly - 3:.1f}" font-size="9" fill="#333" text-anchor="middle" stroke="#fff" '
            f'stroke-width="3" paint-order="stroke">{escape(label)}</text>'
        )
    for n, (x, y) in zip(nodes, xy, strict=True):
        stroke = FLAGGED if n.flagged else "#222"
        sw = 3 if n.flagged else 1
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{n.colour}" stroke="{stroke}" stroke-width="{sw}"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y + radius + 12:.1f}" font-size="11" font-weight="bold" text-anchor="middle" '
            f'fill="#111">{escape(n.label)}</text>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y + radius + 24:.1f}" font-size="9" text-anchor="middle" fill="#555">'
            f"{escape(n.sublabel)}</text>"
        )
    legend = [("Person", COLOURS["Person"]), ("Company", COLOURS["Company"]), ("Organisation", COLOURS["Organization"])]
    for i, (name, colour) in enumerate(legend):
        out.append(f'<circle cx="{14 + i * 110}" cy="{HEIGHT - 14}" r="6" fill="{colour}"/>')
        out.append(f'<text x="{24 + i * 110}" y="{HEIGHT - 10}" font-size="10">{name}</text>')
    out.append(
        f'<circle cx="{14 + 3 * 110}" cy="{HEIGHT - 14}" r="6" fill="#fff" stroke="{FLAGGED}" stroke-width="3"/>'
    )
    out.append(f'<text x="{24 + 3 * 110}" y="{HEIGHT - 10}" font-size="10">named by an alert</text>')
    out.append("</svg>")
    return "\n".join(out)
