// Billing: balance (available, held), usage, this month's invoice lines and earlier invoices.

import { api, rows } from "./api.js";
import { figure } from "./charts.js";
import { fill, h, kpi, money, num, pageHead, table, when } from "./ui.js";

export function period(d, back = 0) {
  const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1));
  return `${x.getUTCFullYear()}-${String(x.getUTCMonth() + 1).padStart(2, "0")}`;
}

const EARLIER_MONTHS = 6;

async function earlierInvoices(now) {
  const periods = Array.from({ length: EARLIER_MONTHS }, (_, i) => period(now, i + 1));
  const got = await Promise.all(periods.map((p) => api(`/invoices?period=${p}`).catch(() => null)));
  return got.filter((inv) => inv && rows(inv, "lines").length);
}

function linesTable(lines, currency) {
  return table([
    { label: "Kind", key: "kind" },
    { label: "Description", render: (l) => l.description || [l.center, l.accelerator]
      .filter(Boolean).join(" · ") || "–" },
    { label: "Job", render: (l) => (l.job_id ? h("a", { href: `#/job/${l.job_id}` }, `#${l.job_id}`)
      : "–") },
    { label: "Quantity", num: true, render: (l) => `${num(l.quantity, 4)} ${l.unit || ""}` },
    { label: `Unit price ${currency}`, num: true, render: (l) => money(l.unit_price) },
    { label: `Amount ${currency}`, num: true, render: (l) => money(l.amount) },
  ], lines, { testid: "invoice-lines", empty: "No invoice lines this month yet." });
}

function byKindFigure(lines, currency) {
  const sums = new Map();
  for (const l of lines) sums.set(l.kind || "other", (sums.get(l.kind || "other") || 0) + Number(l.amount));
  const data = [...sums].map(([kind, amount]) => ({ kind, amount }));
  const fig = figure({ title: "This month by kind", testid: "billing-chart", height: 260,
    empty: "Nothing billed this month yet.",
    columns: [{ label: "Kind", key: "kind" }, { label: `Amount ${currency}`, num: true, key: "amount" }] });
  fig.table(data);
  return { fig, data };
}

export async function render(ctx) {
  const now = new Date();
  const thisPeriod = period(now);
  const [bal, usage, inv] = await Promise.all([api("/balance"), api("/usage"),
    api(`/invoices?period=${thisPeriod}`)]);
  const currency = bal.currency || inv.currency || "CNY";
  const lines = rows(inv, "lines");
  const usageRows = rows(usage, "usage", "records");
  const { fig, data } = byKindFigure(lines, currency);
  const earlier = h("div", h("p.muted", "Loading earlier invoices…"));
  fill(ctx.main, pageHead("Billing", `Prepaid balance, metered usage and invoices (${currency}).`),
    h("div.grid.grid-4",
      kpi("Balance", h("span", { "data-testid": "balance" }, money(bal.amount, currency)),
        "prepaid cash"),
      kpi("Held for running jobs", money(bal.held, currency), "released when a job settles"),
      kpi("Available", money(bal.available, currency), "balance minus holds"),
      kpi(`Invoice ${thisPeriod}`, money(inv.total, currency), `${lines.length} lines`)),
    h("div.grid.grid-2", h("div.panel", fig.el),
      h("div.panel", h("h2", "Usage records"), table([
        { label: "Job", render: (u) => (u.job_id ? h("a", { href: `#/job/${u.job_id}` },
          `#${u.job_id}`) : "–") },
        { label: "Center", key: "center" },
        { label: "Accelerator", key: "accelerator" },
        { label: "Device-h", num: true, digits: 4, value: (u) => (u.device_seconds ?? 0) / 3600 },
        { label: "kWh", num: true, digits: 4, key: "energy_kwh" },
        { label: "Ended", render: (u) => h("span.small", when(u.ended_at ?? u.end)) },
      ], usageRows.slice(-50).reverse(), { testid: "usage-table", empty: "No usage yet." }))),
    h("div.panel", h("h2", `Invoice ${thisPeriod}`), linesTable(lines, currency),
      h("p", { style: "text-align:right;font-weight:650;margin:10px 4px 0" },
        `Total ${money(inv.total, currency)}`)),
    h("div.panel", h("h2", "Earlier invoices"), earlier));
  fig.plot([{ type: "bar", x: data.map((d) => d.kind), y: data.map((d) => d.amount),
    marker: { color: "#1f5fbf" }, hovertemplate: `%{x}: %{y:,.4f} ${currency}<extra></extra>` }],
  { yaxis: { title: currency }, showlegend: false, margin: { l: 60, r: 10, t: 10, b: 40 } });
  const past = await earlierInvoices(now);
  if (!ctx.alive) return;
  fill(earlier, table([
    { label: "Period", key: "period" },
    { label: "Lines", num: true, digits: 0, value: (i) => rows(i, "lines").length },
    { label: `Total ${currency}`, num: true, render: (i) => money(i.total) },
  ], past, { testid: "earlier-invoices",
    empty: `No invoices in the ${EARLIER_MONTHS} months before ${thisPeriod}.` }));
}
