// Marketplace: browse and search products, attach them to a job spec, see where the job could
// run with them (POST /plans: software only where installed, WAN transfer time and cost), submit
// it; and the tenant's leases (create: 409 shows the earliest start that fits; cancel).

import { api, rows } from "./api.js";
import { parseSpec } from "./spec.js";
import { badge, duration, errorBox, fill, h, money, num, pageHead, table, when } from "./ui.js";

const SAMPLE = `kind: batch
name: cfd-run
command: simpleFoam -parallel
nodes: 2
node_type: CPU-2xEPYC9654
walltime_s: 2h
`;

const FIELD = { software: "software", model: "base_model", dataset: "datasets" };

/** ``spec`` with the products (objects from /products) attached in the field of their kind. */
export function attach(spec, products) {
  const out = { ...spec };
  for (const p of products) {
    const f = FIELD[p.kind];
    if (f === "base_model") out.base_model = p.name;
    else out[f] = [...new Set([...(out[f] || []), p.name])];
  }
  return out;
}

const where = (p) => (p.centers && p.centers.length ? p.centers.join(", ")
  : `home ${p.home_center} (${num(p.size_bytes / 1e9, 1)} GB)`);

function productsTable(list, picked, onPick) {
  return table([
    { label: "Attach", render: (p) => h("input", { type: "checkbox", "aria-label": `attach ${p.name}`,
      "data-product": p.name, checked: picked.has(p.name) || null,
      onchange: (e) => onPick(p, e.target.checked) }) },
    { label: "Product", render: (p) => h("span", h("strong", p.name), ` v${p.version}`) },
    { label: "Kind", render: (p) => badge(p.kind) },
    { label: "Title", render: (p) => p.title || "–" },
    { label: "Where", render: where },
    { label: "Price", num: true, render: (p) => `${money(p.price)} / ${p.price_unit.replace("_", "-")}` },
  ], list, { testid: "products-table", empty: "No products match." });
}

function optionsTable(plan) {
  return table([
    { label: "Center", key: "center" },
    { label: "Pool", render: (o) => `${o.accelerator} × ${o.devices}` },
    { label: "Time", num: true, render: (o) => duration(o.time_s) },
    { label: "WAN transfer", num: true, render: (o) => (o.transfer_s ? duration(o.transfer_s) : "–") },
    { label: "Transfer charge", num: true, render: (o) => money(o.transfer_cost) },
    { label: "Hold", num: true, render: (o) => money(o.hold) },
  ], rows(plan, "options"), { testid: "market-plan", empty: "No pool can run this job." });
}

async function productsPanel(ctx, el, picked) {
  const q = h("input", { type: "search", placeholder: "search name, title, description",
    "aria-label": "search products", "data-testid": "product-search" });
  const kind = h("select", { "aria-label": "kind" }, ["", "software", "model", "dataset"]
    .map((k) => h("option", { value: k }, k || "any kind")));
  const list = h("div", h("p.muted", "Loading products…"));
  const load = async () => {
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    if (kind.value) params.set("kind", kind.value);
    const doc = await api(`/products?${params}`);
    if (!ctx.alive) return;
    fill(list, productsTable(rows(doc), picked, (p, on) => {
      if (on) picked.set(p.name, p); else picked.delete(p.name);
    }));
  };
  q.addEventListener("input", () => load().catch((e) => fill(list, errorBox(e))));
  kind.addEventListener("change", () => load().catch((e) => fill(list, errorBox(e))));
  fill(el, h("h2", "Products"), h("div.row", q, kind), list);
  await load();
}

function attachPanel(el, picked) {
  const text = h("textarea", { rows: 8, "aria-label": "job spec", "data-testid": "market-spec",
    spellcheck: "false" });
  text.value = SAMPLE;
  const out = h("div");
  const plan = async () => {
    const spec = attach(parseSpec(text.value), [...picked.values()]);
    text.value = window.jsyaml ? window.jsyaml.dump(spec) : JSON.stringify(spec, null, 1);
    fill(out, h("p.muted", "Planning…"));
    fill(out, optionsTable(await api("/plans", { method: "POST", body: spec })));
    return spec;
  };
  const submit = async () => {
    const spec = await plan();
    const job = await api("/jobs", { method: "POST", body: spec });
    out.append(h("p", { "data-testid": "market-submitted" }, "Submitted ",
      h("a", { href: `#/job/${job.id}` }, `job #${job.id}`), ` (${job.state}).`));
  };
  const guard = (fn) => () => fn().catch((e) => fill(out, errorBox(e)));
  fill(el, h("h2", "Attach to a job"),
    h("p.muted", "Tick products above, then plan: software runs only where it is installed; "
      + "a model or dataset away from its home center adds WAN transfer time and a charge."),
    text, h("div.row",
      h("button.btn.btn-primary", { type: "button", "data-testid": "market-plan-btn",
        onclick: guard(plan) }, "Attach & plan"),
      h("button.btn", { type: "button", onclick: guard(submit) }, "Attach & submit")), out);
}

function leaseForm(onDone) {
  const f = (name, attrs) => h("label", name, h("input", { name, ...attrs }));
  const start = new Date(Date.now() + 3600e3);
  start.setUTCMinutes(0, 0, 0);
  const form = h("form.row", { "data-testid": "lease-form" },
    f("center", { value: "shanghai-ai", required: true }),
    f("accelerator", { value: "A800", required: true }),
    f("devices", { type: "number", min: 1, value: 64, required: true }),
    f("start", { value: start.toISOString().slice(0, 16) + "Z", required: true }),
    f("hours", { type: "number", min: 0.1, step: 0.1, value: 24, required: true }),
    h("button.btn.btn-primary", { type: "submit" }, "Lease"));
  const msg = h("div", { "data-testid": "lease-message" });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const t0 = new Date(v.start);
    const body = { center: v.center, accelerator: v.accelerator, devices: Number(v.devices),
      start: t0.toISOString(), end: new Date(t0.getTime() + Number(v.hours) * 3600e3).toISOString() };
    try {
      const lz = await api("/leases", { method: "POST", body });
      fill(msg, h("p", `Lease ${lz.id} created: ${money(lz.amount)} billed.`));
      onDone();
    } catch (e) {
      const early = e.status === 409 && e.body && e.body.earliest_start;
      fill(msg, errorBox(e), early ? h("button.btn", { type: "button", onclick: () => {
        form.elements.start.value = new Date(early).toISOString().slice(0, 16) + "Z";
      } }, `Use earliest start ${when(early)}`) : null);
    }
  });
  return h("div", form, msg);
}

async function leasesPanel(ctx, el) {
  const list = h("div");
  const load = async () => {
    const doc = await api("/leases");
    if (!ctx.alive) return;
    fill(list, table([
      { label: "Lease", render: (l) => `#${l.id}` },
      { label: "Where", render: (l) => `${l.center} · ${l.accelerator} × ${l.devices}` },
      { label: "From", render: (l) => when(l.start) },
      { label: "To", render: (l) => when(l.end) },
      { label: "State", render: (l) => badge(l.state) },
      { label: "Billed", num: true, render: (l) => money(l.amount) },
      { label: "", render: (l) => (l.state === "active" ? h("button.btn.btn-ghost", { type: "button",
        onclick: async () => { await api(`/leases/${l.id}/cancel`, { method: "POST" }); load(); } },
      "Cancel") : "") },
    ], rows(doc), { testid: "leases-table", empty: "No leases." }));
  };
  fill(el, h("h2", "Leases"), h("p.muted", "Dedicated capacity for a window, billed by the "
    + "hour whether used or not; unused hours are lent to preemptible jobs and reclaimed."),
  leaseForm(() => load()), list);
  await load();
}

export async function render(ctx) {
  const picked = new Map();
  const products = h("div.panel");
  const attachEl = h("div.panel");
  const leases = h("div.panel");
  fill(ctx.main, pageHead("Marketplace", "Software, base models and datasets from providers; "
    + "leased capacity."), products, attachEl, leases);
  attachPanel(attachEl, picked);
  await Promise.all([productsPanel(ctx, products, picked), leasesPanel(ctx, leases)]);
}
