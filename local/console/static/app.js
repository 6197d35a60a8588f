// The local console's page: polls /_console/api/state once a second and renders it. No framework,
// no build step. Every request carries the per-start token from the page's <meta>; actions ask
// for confirmation and go to the console's server, which calls the local API or the CLIs' code.
"use strict";

const TOKEN = document.querySelector('meta[name="console-token"]').content;
const $ = (sel) => document.querySelector(sel);
const POLL_MS = 1000;
let current = { events: { items: [] } };
let detailId = null;

async function call(method, path) {
  const res = await fetch(path, { method, headers: { "x-console-token": TOKEN } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error((body && (body.detail || body.message || body.title)) || `HTTP ${res.status}`);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
  return node;
}

function sourceKind(source) {
  if (!source) return "";
  if ("webhook" in source) return "webhook";
  if ("pipeline" in source) return "pipeline";
  return "api";
}
function sourceLabel(source) {
  const kind = sourceKind(source);
  if (kind === "webhook") return `webhook ${source.webhook}`;
  if (kind === "pipeline") return `pipeline ${source.pipeline}`;
  return `key ${source ? source.api_key_id : ""}`;
}
const time = (iso) => (iso ? iso.replace("T", " ").replace("Z", "") : "");

function matchesType(type, pattern) {
  if (!pattern) return true;
  return pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
  if (rows.length === 0) tbody.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "Nothing yet.")));
}

function renderEvents() {
  const items = (current.events && current.events.items) || [];
  const type = $("#f-type").value.trim();
  const status = $("#f-status").value;
  const source = $("#f-source").value;
  const rows = items
    .filter((e) => matchesType(e.event_type, type) && (!status || e.status === status) && (!source || sourceKind(e.source) === source))
    .map((e) =>
      el(
        "tr",
        { class: "clickable", tabindex: "0", "data-event-id": e.event_id, onclick: () => openDetail(e.event_id), onkeydown: (k) => k.key === "Enter" && openDetail(e.event_id) },
        el("td", {}, time(e.created_at)),
        el("td", {}, e.event_type),
        el("td", { class: `status-${e.status}` }, e.status),
        el("td", {}, sourceLabel(e.source)),
        el("td", {}, e.delivery_attempts),
        el("td", { class: "mono" }, e.event_id),
      ),
    );
  fill($("#events-table tbody"), rows);
  renderRateChart(items);
}

function renderInbox() {
  const items = (current.inbox && current.inbox.items) || [];
  fill(
    $("#inbox-table tbody"),
    items.map((e) =>
      el(
        "tr",
        { "data-event-id": e.event_id },
        el("td", {}, time(e.created_at)),
        el("td", {}, e.event_type),
        el("td", { class: "mono" }, e.event_id),
        el("td", {}, el("button", { type: "button", "aria-label": `Ack ${e.event_id}`, onclick: () => ack(e.event_id) }, "Ack")),
      ),
    ),
  );
}

function renderQueue() {
  const q = current.queue;
  $("#queue-off").hidden = !!q;
  $("#queue-on").hidden = !q;
  if (!q) return;
  $("#q-visible").textContent = q.visible;
  $("#q-inflight").textContent = q.inFlight;
  $("#q-dlq").textContent = q.deadLetter;
  $("#q-age").textContent = q.oldestAgeSeconds;
  fill(
    $("#dlq-table tbody"),
    q.dead_letters.map((m) => el("tr", {}, el("td", {}, time(m.sent_at)), el("td", {}, m.receive_count), el("td", { class: "mono" }, m.message_id), el("td", { class: "mono" }, summarize(m.body)))),
  );
  renderLines($("#queue-chart"), q.samples, [
    ["visible", "#0550ae"],
    ["inFlight", "#8250df"],
    ["deadLetter", "#a40e26"],
  ]);
}

function renderPipeline() {
  const p = current.pipeline;
  $("#pipeline-off").hidden = !!p;
  $("#pipeline-on").hidden = !p;
  if (!p) return;
  fill(
    $("#pipeline-table tbody"),
    p.failures.map((f) => el("tr", {}, el("td", {}, f.stage || "—"), el("td", { class: "refused" }, f.error), el("td", {}, f.cause), el("td", { class: "mono" }, summarize(f.body)))),
  );
}

function renderWebhooks() {
  const w = current.webhooks || { sources: [], recent: [] };
  $("#wh-sources").textContent = w.sources.length ? w.sources.map((s) => `${s.name} (${s.scheme})`).join(", ") : "none (npm run webhooks -- add)";
  fill(
    $("#webhooks-table tbody"),
    w.recent.map((x) =>
      el(
        "tr",
        { class: x.status >= 400 ? "refused-row" : "" },
        el("td", {}, time(x.at)),
        el("td", {}, x.source),
        el("td", { class: x.status >= 400 ? "refused" : "" }, x.status),
        el("td", { class: x.status >= 400 ? "refused" : "" }, x.reason ? `${x.reason}${x.detail ? `: ${x.detail}` : ""}` : x.event_id ? `stored ${x.event_id}` : "stored"),
        el("td", { class: "mono" }, Object.entries(x.headers).map(([k, v]) => `${k}: ${v}`).join("\n")),
      ),
    ),
  );
}

async function renderCatalog() {
  const body = $("#catalog-body");
  try {
    const catalog = await call("GET", "/_console/api/catalog");
    const types = catalog.types;
    if (!types.length) return body.replaceChildren(el("p", {}, "No event types declared."));
    body.replaceChildren(
      ...types.map((t) =>
        el(
          "details",
          { "data-event-type": t.event_type },
          el("summary", {}, `${t.event_type} v${t.version} · ${t.owner}${t.deprecated ? ` · deprecated: ${t.deprecated}` : ""}`),
          el("p", {}, t.description),
          el("h3", {}, "Payload schema"),
          el("pre", {}, JSON.stringify(t.payload_schema, null, 2)),
          ...(t.examples.length ? [el("h3", {}, "Example"), el("pre", {}, JSON.stringify(t.examples[0], null, 2))] : []),
        ),
      ),
    );
  } catch (error) {
    body.replaceChildren(el("p", {}, `No catalogue on this stack (${error.message}).`));
  }
}

/** The catalogue's verdict on the event, as stored: which version it was checked against, and any violation. */
function schemaCheck(e) {
  if (!e.catalog) return "not checked (catalogMode off)";
  if (e.catalog.declared === false) return "type not declared in the catalogue";
  const verdict = e.catalog.valid ? "valid" : "violations";
  const violations = (e.schema_violations || []).map((v) => `${v.pointer}: ${v.detail}`).join("; ");
  return `catalogue v${e.catalog.version}: ${verdict}${violations ? ` (${violations})` : ""}`;
}

function summarize(body) {
  try {
    const m = JSON.parse(body);
    const record = m.record || m;
    return [record.event_type, record.event_id].filter(Boolean).join(" ") || body.slice(0, 120);
  } catch {
    return String(body).slice(0, 120);
  }
}

/** Pretty-prints JSON text token by token, so numbers keep every digit the API sent. */
function prettyJson(text) {
  let out = "";
  let depth = 0;
  const pad = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      if (text[i + 1] === close) {
        out += c + close;
        i++;
      } else {
        depth++;
        out += c + pad();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += pad() + c;
    } else if (c === ",") out += "," + pad();
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out;
}

async function openDetail(id) {
  detailId = id;
  const aside = $("#detail");
  aside.hidden = false;
  try {
    const d = await call("GET", `/_console/api/events/${encodeURIComponent(id)}`);
    const e = d.event;
    $("#h-detail").textContent = `Event ${e.event_type}`;
    $("#detail-meta").replaceChildren(
      ...[
        ["event_id", e.event_id],
        ["status", e.status],
        ["source", sourceLabel(e.source)],
        ["created_at", e.created_at],
        ["received_at", e.received_at],
        ["delivered_at", e.delivered_at ?? "—"],
        ["delivery_attempts", e.delivery_attempts],
        ["schema check", schemaCheck(e)],
        ["metadata", e.metadata ? JSON.stringify(e.metadata) : "—"],
      ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    );
    $("#detail-raw").textContent = prettyJson(d.raw);
    $("#detail-deliveries").replaceChildren(...renderDeliveries(d.deliveries));
  } catch (error) {
    $("#detail-raw").textContent = error.message;
  }
}

/** GET /events/{id}/deliveries: one row per subscription (its state), then every attempt. */
function renderDeliveries(log) {
  if (!log) return [el("p", {}, "No deliveries on this stack (no subscriptions: npm run subscriptions -- add).")];
  if (!log.subscriptions.length) return [el("p", {}, "No subscription matches this event type.")];
  const head = (...names) => el("thead", {}, el("tr", {}, ...names.map((h) => el("th", { scope: "col" }, h))));
  return [
    el(
      "table",
      { id: "subscriptions-table" },
      el("caption", { class: "sr-only" }, "Delivery state per subscription"),
      head("Subscription", "State", "Attempts", "Replays", "Last attempt", "webhook-id"),
      el(
        "tbody",
        {},
        ...log.subscriptions.map((s) =>
          el("tr", { "data-subscription": s.subscription }, el("td", {}, s.subscription), el("td", { class: `status-${s.state}` }, s.state), el("td", {}, s.attempts), el("td", {}, s.replays), el("td", {}, time(s.last_attempt_at)), el("td", { class: "mono" }, s.webhook_id)),
        ),
      ),
    ),
    el(
      "table",
      { id: "attempts-table" },
      el("caption", { class: "sr-only" }, "Every delivery attempt, oldest first"),
      head("At", "Subscription", "#", "Result", "Latency ms", "Response (first 1 KB)"),
      el(
        "tbody",
        {},
        ...log.attempts.map((a) =>
          el(
            "tr",
            {},
            el("td", {}, time(a.attempted_at)),
            el("td", {}, a.subscription),
            el("td", {}, a.attempt),
            el("td", { class: a.ok ? "status-delivered" : "refused" }, a.status_code ?? a.error ?? ""),
            el("td", {}, a.latency_ms),
            el("td", { class: "mono" }, a.response_body),
          ),
        ),
      ),
    ),
  ];
}

async function act(label, method, path, after) {
  if (!confirm(label)) return;
  try {
    const result = await call(method, path);
    $("#status").textContent = `${label.replace(/\?$/, "")}: done${result && result.moved !== undefined ? ` (${result.moved} moved)` : ""}`;
    if (after) after(result);
  } catch (error) {
    $("#status").textContent = `${label.replace(/\?$/, "")}: ${error.message}`;
  }
  await poll();
}
const ack = (id) => act(`Ack ${id}?`, "POST", `/_console/api/events/${encodeURIComponent(id)}/ack`, () => detailId === id && openDetail(id));

function renderRateChart(items) {
  const now = Date.now();
  const buckets = Array.from({ length: 60 }, () => ({ api: 0, webhook: 0, pipeline: 0 }));
  for (const e of items) {
    const age = Math.floor((now - Date.parse(e.created_at)) / 1000);
    if (age >= 0 && age < 60) buckets[59 - age][sourceKind(e.source)]++;
  }
  const svg = $("#rate-chart");
  const max = Math.max(1, ...buckets.map((b) => b.api + b.webhook + b.pipeline));
  const w = 640 / 60;
  const bars = [];
  buckets.forEach((b, i) => {
    let y = 110;
    for (const [kind, color] of [["api", "#0550ae"], ["webhook", "#8250df"], ["pipeline", "#a40e26"]]) {
      const h = (b[kind] / max) * 100;
      if (h > 0) bars.push(`<rect x="${i * w}" y="${y - h}" width="${w - 1}" height="${h}" fill="${color}"></rect>`);
      y -= h;
    }
  });
  svg.innerHTML = `<title id="rate-title">Events stored per second over the last minute, by source (peak ${max}/s)</title><line x1="0" y1="110" x2="640" y2="110" stroke="#d0d7de"></line>${bars.join("")}`;
  $("#rate-legend").innerHTML = '<span class="key api">API</span> <span class="key webhook">webhook</span> <span class="key pipeline">pipeline</span>';
}

function renderLines(svg, samples, series) {
  const max = Math.max(1, ...samples.flatMap((s) => series.map(([k]) => s[k])));
  const n = Math.max(2, samples.length);
  const paths = series.map(([key, color]) => {
    const d = samples.map((s, i) => `${i === 0 ? "M" : "L"}${((i / (n - 1)) * 640).toFixed(1)},${(110 - (s[key] / max) * 100).toFixed(1)}`).join(" ");
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"></path>`;
  });
  svg.innerHTML = `<title id="queue-title">Queue depth over the last five minutes (peak ${max})</title><line x1="0" y1="110" x2="640" y2="110" stroke="#d0d7de"></line>${paths.join("")}`;
}

function showView() {
  const view = (location.hash || "#events").slice(1);
  for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== view;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "catalog") renderCatalog();
}

async function poll() {
  try {
    current = await call("GET", "/_console/api/state");
    renderEvents();
    renderInbox();
    renderQueue();
    renderPipeline();
    renderWebhooks();
    if (detailId && !$("#detail").hidden) await openDetail(detailId); // attempts and status move on while it is open
    $("#status").dataset.updated = new Date().toISOString();
    if (!$("#status").textContent.includes(":")) $("#status").textContent = "live";
  } catch (error) {
    $("#status").textContent = `disconnected: ${error.message}`;
  }
}

window.addEventListener("hashchange", showView);
$("#filters").addEventListener("input", renderEvents);
$("#filters").addEventListener("submit", (e) => e.preventDefault());
$("#detail-close").addEventListener("click", () => {
  $("#detail").hidden = true;
  detailId = null;
});
$("#detail-ack").addEventListener("click", () => detailId && ack(detailId));
$("#detail-replay").addEventListener("click", () => detailId && act(`Replay ${detailId} to its subscriptions?`, "POST", `/_console/api/events/${encodeURIComponent(detailId)}/replay`, () => openDetail(detailId)));
$("#redrive-queue").addEventListener("click", () => act("Move every dead-lettered message back to the ingest queue?", "POST", "/_console/api/queue/redrive"));
$("#redrive-pipeline").addEventListener("click", () => act("Send every pipeline failure back through the buffer?", "POST", "/_console/api/pipeline/redrive"));
showView();
poll();
setInterval(poll, POLL_MS);
