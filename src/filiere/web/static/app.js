// filiere investigation UI: networks (Cytoscape.js), triage and case actions over the JSON API.
"use strict";

const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

async function api(method, url, body) {
  const opts = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(url, opts);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || resp.status));
  return data;
}

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (n) => Number(n).toLocaleString("en", { maximumFractionDigits: 0 });

const KIND_COLOURS = { bank: "#1f5fa8", mobile: "#2a9d8f", crypto: "#e9c46a" };
const ROLE_SHAPES = { npo: "hexagon", pharmacy: "round-rectangle", mm_agent: "ellipse", trading: "diamond", exchange: "star" };

function drawNetwork(el, elements) {
  const nodes = elements.nodes || [], edges = elements.edges || [];
  const amounts = edges.map((e) => Math.log10(1 + (e.data.amount || 0)));
  const lo = Math.min(...amounts, 0), hi = Math.max(...amounts, 1);
  edges.forEach((e, i) => { e.data.w = 1 + 5 * (amounts[i] - lo) / Math.max(hi - lo, 1e-9); });
  const big = nodes.length > 250;
  const cy = cytoscape({
    container: el,
    elements: [...nodes, ...edges],
    wheelSensitivity: 0.3,
    textureOnViewport: big,
    hideEdgesOnViewport: big,
    style: [
      { selector: "node", style: {
        "background-color": (n) => KIND_COLOURS[n.data("kind")] || "#1f5fa8",
        "shape": (n) => ROLE_SHAPES[n.data("entity_type")] || "ellipse",
        "label": big ? "" : "data(label)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 3,
        "width": 18, "height": 18, "color": "#1d2433" } },
      { selector: "node[?focus]", style: { "border-width": 4, "border-color": "#b3261e", "width": 26, "height": 26 } },
      { selector: "edge", style: {
        "width": "data(w)", "line-color": "#9aa5b8", "target-arrow-color": "#9aa5b8", "target-arrow-shape": "triangle",
        "curve-style": big ? "haystack" : "bezier", "opacity": 0.8 } },
      { selector: "edge[traced_fraction > 0]", style: { "line-color": "#b3261e", "target-arrow-color": "#b3261e" } },
      { selector: ":selected", style: { "overlay-opacity": 0.2, "label": "data(label)" } },
    ],
    layout: big ? { name: "concentric", concentric: (n) => (n.data("focus") ? 10 : 10 - (n.data("hop") || 1)), minNodeSpacing: 4, animate: false }
                : { name: "cose", animate: false, nodeRepulsion: 9000, idealEdgeLength: 90, randomize: false },
  });
  cy.on("tap", "edge", (ev) => { const d = ev.target.data(); info(`${d.tx_id}: ${fmt(d.amount)} ${d.currency} on ${d.ts}` + (d.traced_amount !== undefined ? ` · traced ${fmt(d.traced_amount)}` : "")); });
  cy.on("tap", "node", (ev) => { const d = ev.target.data(); info(`${d.label} (${d.account})`); });
  el.dataset.nodes = String(cy.nodes().length);
  el.dataset.edges = String(cy.edges().length);
  window.filiereCy = cy;
  info(`${nodes.length} accounts · ${edges.length} transactions${elements.truncated ? " · truncated to the largest" : ""}`);
  return cy;
}

function info(text) { const el = document.getElementById("net-info"); if (el) el.textContent = text; }

function drawTimeline(el, txs) {
  el.innerHTML = "";
  if (!txs.length) { el.textContent = "No transaction."; return; }
  const ts = txs.map((t) => Date.parse(t.ts.replace(" ", "T")));
  const t0 = Math.min(...ts), t1 = Math.max(...ts), span = Math.max(t1 - t0, 1);
  const amounts = txs.map((t) => Math.log10(1 + (t.amount_paid || 0))), top = Math.max(...amounts, 1);
  txs.forEach((t, i) => {
    const d = document.createElement("div");
    d.className = "tick" + (t.traced_amount > 0 ? " traced" : "");
    d.style.left = `${(100 * (ts[i] - t0)) / span}%`;
    d.style.height = `${10 + 70 * (amounts[i] / top)}px`;
    d.title = `${t.ts} ${t.from_account} → ${t.to_account}: ${fmt(t.amount_paid)} ${t.payment_currency}`;
    el.appendChild(d);
  });
  for (const [pos, t] of [[0, t0], [100, t1]]) {
    const l = document.createElement("span"); l.className = "lbl"; l.style.left = pos ? "auto" : "0"; if (pos) l.style.right = "0";
    l.textContent = new Date(t).toISOString().slice(0, 16).replace("T", " "); el.appendChild(l);
  }
}

function setMsg(id, text, error) { const el = document.getElementById(id); if (el) { el.textContent = text; el.className = error ? "msg error" : "msg"; } }

async function loadNetwork() {
  const el = document.getElementById("cy");
  if (!el || !el.dataset.src) return;
  try { drawNetwork(el, await api("GET", el.dataset.src)); } catch (e) { info("network unavailable: " + e.message); }
}

function wireAlertPage() {
  const form = document.getElementById("disposition-form");
  if (form) form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      const r = await api("POST", `/v1/alerts/${encodeURIComponent(form.dataset.alert)}/disposition`, { disposition: fd.get("disposition"), comment: fd.get("comment") });
      document.getElementById("alert-status").textContent = `${r.status} · ${r.disposition}`;
      setMsg("triage-msg", "Decision recorded.");
    } catch (e) { setMsg("triage-msg", e.message, true); }
  });
  const btn = document.getElementById("create-case");
  if (btn) btn.addEventListener("click", async () => {
    try {
      const r = await api("POST", "/v1/cases", { alert_ids: [btn.dataset.alert] });
      window.location.href = `/cases/${encodeURIComponent(r.case_id)}`;
    } catch (e) { setMsg("triage-msg", e.message, true); }
  });
}

function wireCasePage() {
  const tl = document.getElementById("timeline-data");
  if (tl) drawTimeline(document.getElementById("timeline"), JSON.parse(tl.textContent));
  document.querySelectorAll("button.transition").forEach((b) => b.addEventListener("click", async () => {
    try { await api("POST", `/v1/cases/${encodeURIComponent(b.dataset.case)}/status`, { status: b.dataset.to }); window.location.reload(); }
    catch (e) { setMsg("case-msg", e.message, true); }
  }));
  const note = document.getElementById("note-form");
  if (note) note.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await api("POST", `/v1/cases/${encodeURIComponent(note.dataset.case)}/notes`, { body: new FormData(note).get("body") }); window.location.reload(); }
    catch (e) { setMsg("case-msg", e.message, true); }
  });
  const att = document.getElementById("attach-form");
  if (att) att.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await api("POST", `/v1/cases/${encodeURIComponent(att.dataset.case)}/attachments`, new FormData(att)); window.location.reload(); }
    catch (e) { setMsg("case-msg", e.message, true); }
  });
}

function wireTracePage() {
  const form = document.getElementById("trace-form");
  if (!form) return;
  const run = async () => {
    const fd = new FormData(form);
    const subject = String(fd.get("subject") || "").trim();
    if (!subject) return;
    const qs = new URLSearchParams({ direction: fd.get("direction"), hops: fd.get("hops") });
    if (fd.get("since")) qs.set("since", fd.get("since") + "T00:00:00");
    if (fd.get("until")) qs.set("until", fd.get("until") + "T23:59:59");
    setMsg("trace-msg", "Tracing…");
    try {
      const r = await api("GET", `/v1/trace/${encodeURIComponent(subject)}?${qs}`);
      setMsg("trace-msg", `${r.subject_kind} ${r.subject}: ${r.accounts} accounts, ${r.transactions} payments, ${r.traced_transactions} carrying traced money${r.truncated ? " (truncated)" : ""}`);
      drawNetwork(document.getElementById("cy"), r.graph);
      drawTimeline(document.getElementById("timeline"), r.timeline);
      document.querySelector("#trace-table tbody").innerHTML = r.timeline.slice(0, 500).map((e) =>
        `<tr><td>${esc(e.ts)}</td><td>${e.hop}</td><td>${esc(e.direction)}</td><td>${esc(e.from_account)}</td><td>${esc(e.to_account)}</td><td class="num">${fmt(e.amount_paid)} ${esc(e.payment_currency)}</td><td class="num">${fmt(e.traced_amount)}</td></tr>`).join("");
      document.querySelector("#endpoints tbody").innerHTML = [...r.endpoints, ...r.origins].map((e) =>
        `<tr><td>${e.direction === "forward" ? "rests at" : "came from"}</td><td>${esc(e.account)}</td><td class="num">${fmt(e.amount)}</td></tr>`).join("");
    } catch (e) { setMsg("trace-msg", e.message, true); }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); history.replaceState(null, "", "?" + new URLSearchParams(new FormData(form))); run(); });
  run();
}

function wireScreeningPage() {
  const form = document.getElementById("screen-form");
  if (!form) return;
  const run = async () => {
    const q = String(new FormData(form).get("q") || "").trim();
    if (!q) return;
    if (form.dataset.screening === "yes") {
      try {
        // yente-style batch query: POST /v1/screen {"queries": {"q": {"properties": {"name": [...]}}}}
        const r = await api("POST", "/v1/screen?limit=10", { queries: { q: { properties: { name: [q] } } } });
        const rows = ((r.responses || {}).q || {}).results || [];
        document.querySelector("#screen-results tbody").innerHTML = rows.length ? rows.map((m) =>
          `<tr><td>${esc(m.caption)}</td><td>${esc(m.matched_name)}</td><td>${esc((m.datasets || []).join(", "))}</td><td>${esc((m.programs || []).join(", "))}</td><td class="num">${Number(m.score).toFixed(2)}</td><td>${m.match ? "<b>match</b>" : ""}</td><td><small>${esc(m.explanation)}</small></td></tr>`).join("") : "<tr><td>No match above the threshold.</td></tr>";
      } catch (e) { document.querySelector("#screen-results tbody").innerHTML = `<tr><td class="error">${esc(e.message)}</td></tr>`; }
    }
    try {
      const r = await api("GET", `/v1/parties?q=${encodeURIComponent(q)}`);
      document.querySelector("#party-results tbody").innerHTML = r.items.length ? r.items.map((p) =>
        `<tr><td>${esc(p.name)}</td><td>${esc(p.schema)}</td><td>${esc(p.entity_type || "")}</td><td>${esc(p.country || "")}</td><td><a href="/trace?subject=${encodeURIComponent(p.party_id)}">trace</a></td></tr>`).join("") : "<tr><td>No party.</td></tr>";
    } catch (e) { document.querySelector("#party-results tbody").innerHTML = `<tr><td class="error">${esc(e.message)}</td></tr>`; }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  run();
}


// Alerts arriving live from the real-time stream (server-sent events; the session cookie authenticates).
function wireLiveAlerts() {
  const table = document.getElementById("alert-table");
  if (!table || typeof EventSource === "undefined") return;
  const status = document.getElementById("live-status");
  const es = new EventSource("/v1/realtime/alerts/stream");
  es.onopen = () => { if (status) { status.textContent = "live"; status.className = "badge st-open"; } };
  es.onerror = () => { if (status) { status.textContent = "reconnecting"; status.className = "badge st-closed"; } };
  es.addEventListener("alert", (ev) => {
    const a = JSON.parse(ev.data);
    const tr = document.createElement("tr");
    tr.className = "live";
    const cells = [
      (Number(a.score) || 0).toFixed(2), a.decision || "", "", "realtime", "", "", "1",
      a.timestamp || a.ts || "", "new", "", "",
    ];
    cells.forEach((text) => { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
    const link = document.createElement("a");
    link.href = "/alerts/" + encodeURIComponent(a.alert_id);
    link.textContent = (a.decision === "hold" ? "Held: " : "Alert: ") + (a.from_account || "") + " → " + (a.to_account || "")
      + " " + (a.amount != null ? a.amount : "") + " " + (a.currency || "");
    tr.children[2].appendChild(link);
    tr.children[2].appendChild(document.createElement("br"));
    const small = document.createElement("small"); small.textContent = a.alert_id; tr.children[2].appendChild(small);
    table.tBodies[0].prepend(tr);
    const n = document.getElementById("live-count");
    if (n) n.textContent = String(Number(n.textContent || "0") + 1);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof cytoscape === "undefined") info("Cytoscape.js is missing: run `make web-assets`.");
  else loadNetwork();
  wireAlertPage();
  wireCasePage();
  wireTracePage();
  wireScreeningPage();
  wireLiveAlerts();
});
