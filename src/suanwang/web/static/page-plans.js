// Plan explorer: a job spec -> POST /plans -> options as a Pareto chart (time vs cost, energy as
// colour), the options table, and why each other option lost.

import { api, rows } from "./api.js";
import { figure } from "./charts.js";
import { loadFileInto, parseSpec } from "./spec.js";
import { badge, errorBox, fill, h, money, num, pageHead, table } from "./ui.js";

const SAMPLE = `kind: training
name: llama3-8b-demo
model: llama3-8b
tokens: 1.0e11
global_batch: 512
constraints:
  max_devices: 1024
`;

const time = (o) => o.time_to_train_s;
const days = (o) => time(o) / 86400;
const label = (o) => `${o.center} · ${o.accelerator} × ${o.devices}`;
const dominates = (a, b) => time(a) <= time(b) && a.cost <= b.cost && a.energy_kwh <= b.energy_kwh &&
  (time(a) < time(b) || a.cost < b.cost || a.energy_kwh < b.energy_kwh);

function ratio(a, b) {
  return b > 0 ? a / b : Infinity;
}

/**
 * Why ``o`` lost against the chosen option ``best`` (the first under the plan's objective):
 * a dominated option names the Pareto option that beats it on time, cost and energy at once;
 * a Pareto option is a trade-off and says what it gives up against ``best``.
 */
export function whyLost(o, best, front) {
  if (o === best) return "chosen: best under the objective";
  if (o.why || o.reason) return o.why || o.reason;
  if (!o.pareto) {
    const by = front.filter((p) => dominates(p, o))
      .sort((a, b) => time(a) - time(b))[0] || best;
    const parts = [];
    if (time(by) < time(o)) parts.push(`${num(ratio(time(o), time(by)), 2)}× slower`);
    if (by.cost < o.cost) parts.push(`${num(ratio(o.cost, by.cost), 2)}× the cost`);
    if (by.energy_kwh < o.energy_kwh) parts.push(`${num(ratio(o.energy_kwh, by.energy_kwh), 2)}× the energy`);
    return `dominated by ${label(by)}: ${parts.join(", ") || "no better on any axis"}`;
  }
  const worse = [];
  const better = [];
  const cmp = (name, a, b, unit) => {
    if (a > b * 1.005) worse.push(`${num(ratio(a, b), 2)}× ${unit}`);
    else if (a * 1.005 < b) better.push(`${num(ratio(b, a), 2)}× less ${name}`);
  };
  cmp("time", time(o), time(best), "the time");
  cmp("cost", o.cost, best.cost, "the cost");
  cmp("energy", o.energy_kwh, best.energy_kwh, "the energy");
  return `Pareto trade-off: ${worse.join(", ") || "no worse"} than the chosen option` +
    (better.length ? `, for ${better.join(", ")}` : "");
}

function optionsTable(options, best, front, currency) {
  return table([
    { label: "#", render: (o) => String(options.indexOf(o) + 1) },
    { label: "Center", render: (o) => h("div", o.center, o.backend === "sim"
      ? h("span.muted.small", " (sim)") : null) },
    { label: "Accelerator", key: "accelerator" },
    { label: "Devices", num: true, digits: 0, key: "devices" },
    { label: "Days", num: true, digits: 2, value: days },
    { label: `Cost ${currency}`, num: true, digits: 0, key: "cost" },
    { label: "Energy MWh", num: true, digits: 1, value: (o) => o.energy_kwh / 1e3 },
    { label: "MFU", num: true, render: (o) => num(100 * ((o.plan || {}).mfu ?? NaN), 1) },
    { label: "Pareto", render: (o) => (o.pareto ? badge("Pareto", "st-SUCCEEDED") : "") },
    { label: "Why not this one", render: (o) => h("span.small", whyLost(o, best, front)) },
  ], options, { testid: "options-table", caption: "Options, best first under the objective",
    scroll: true });
}

/** The time-cost front (non-dominated on those two axes), fastest first: a staircase. */
export function timeCostFront(options) {
  const sorted = options.slice().sort((a, b) => time(a) - time(b) || a.cost - b.cost);
  const front = [];
  for (const o of sorted) if (!front.length || o.cost < front[front.length - 1].cost) front.push(o);
  return front;
}

function axisType(values) {
  const pos = values.filter((v) => v > 0);
  return pos.length && Math.max(...pos) / Math.min(...pos) > 8 ? "log" : "linear";
}

/** Label side for a point: inward at the ends of the time axis, so labels stay in the plot. */
function textSide(o, options) {
  const xs = options.map(days);
  if (days(o) <= Math.min(...xs)) return "top right";
  if (days(o) >= Math.max(...xs)) return "top left";
  return "top center";
}

function drawPareto(fig, options, currency) {
  const front = options.filter((o) => o.pareto);
  const others = options.filter((o) => !o.pareto);
  const stairs = timeCostFront(options);
  const mwh = options.map((o) => o.energy_kwh / 1e3);
  const scale = { cmin: Math.min(...mwh), cmax: Math.max(...mwh), colorscale: "Viridis" };
  const pts = (list, name, extra) => ({
    type: "scatter", mode: "markers", name, x: list.map(days), y: list.map((o) => o.cost),
    customdata: list.map((o) => [label(o), o.energy_kwh / 1e3]),
    hovertemplate: `%{customdata[0]}<br>%{x:.2f} days · %{y:,.0f} ${currency}<br>` +
      "%{customdata[1]:,.1f} MWh<extra></extra>",
    marker: { color: list.map((o) => o.energy_kwh / 1e3), ...scale, ...extra },
  });
  const xt = axisType(options.map(days));
  const yt = axisType(options.map((o) => o.cost));
  fig.plot([
    pts(others, "dominated", { size: 8, opacity: 0.8, line: { width: 0.5, color: "#7f8c8d" } }),
    { type: "scatter", mode: "lines", name: "time–cost front", x: stairs.map(days),
      y: stairs.map((o) => o.cost), line: { color: "#c0392b", width: 1.5, dash: "dot", shape: "hv" },
      hoverinfo: "skip" },
    { ...pts(front, "Pareto-optimal (time, cost, energy)", { size: 12, symbol: "diamond",
      line: { color: "#c0392b", width: 1.5 }, colorbar: { title: { text: "energy MWh" },
        thickness: 14 } }),
    ...(front.length <= 8 ? { mode: "markers+text", text: front.map((o) => `${o.accelerator} × ${o.devices}`),
      textposition: front.map((o) => textSide(o, options)), cliponaxis: false,
      textfont: { size: 11, color: "#394b63" } } : {}) },
  ], { xaxis: { title: `time to train (days${xt === "log" ? ", log" : ""})`, type: xt },
    yaxis: { title: `cost (${currency}${yt === "log" ? ", log" : ""})`, type: yt,
      tickformat: "~s" } });
}

export async function render(ctx) {
  const text = h("textarea", { id: "plan-spec", "aria-label": "Job spec (YAML or JSON)" }, SAMPLE);
  const file = h("input", { type: "file", accept: ".yaml,.yml,.json", "data-testid": "plan-file",
    "aria-label": "Upload a job spec" });
  loadFileInto(file, text);
  const out = h("div.stack");
  const btn = h("button.btn.btn-primary", { type: "submit", "data-testid": "plan-run" }, "Explore");
  const submit = async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    fill(out, h("p.muted", "Searching centers, chips and sizes…"));
    try {
      const spec = parseSpec(text.value);
      if (spec.kind === "batch") showBatch(out, await api("/plans", { method: "POST", body: spec }));
      else showSelection(out, await api("/plans/explore", { method: "POST", body: spec }));
    } catch (e) {
      fill(out, errorBox(e));
    } finally { btn.disabled = false; }
  };
  fill(ctx.main, pageHead("Plan explorer",
    "Where and how a job could run: every center, chip and size, by time, cost and energy."),
  h("form.panel", { onsubmit: submit }, h("label", { for: "plan-spec" }, "Job spec (YAML or JSON)"),
    text, h("div.row", { style: "margin-top:8px" }, file, btn)), out);
}

/** A batch job has no size/chip space to explore: the pools that can run it (POST /plans). */
function showBatch(out, plan) {
  fill(out, h("div.panel", h("h2", `Pools that can run this batch job (${plan.devices} devices)`),
    table([
      { label: "Center", key: "center" }, { label: "Node type", key: "accelerator" },
      { label: "Nodes", num: true, digits: 0, key: "nodes" },
      { label: "Walltime h", num: true, value: (o) => o.time_s / 3600 },
      { label: "Hold", num: true, render: (o) => money(o.hold) },
    ], plan.options, { testid: "options-table" })));
}

function showSelection(out, sel) {
  const options = rows(sel, "options");
  const currency = sel.currency || "CNY";
  if (!options.length) {
    fill(out, h("p.empty", "No option fits this job."));
    return;
  }
  const best = options[0];
  const front = options.filter((o) => o.pareto);
  const fig = figure({ title: "Pareto front: time vs cost, energy as colour", testid: "pareto-chart",
    height: 420, columns: [{ label: "Option", value: label }, { label: "Days", num: true, value: days },
      { label: `Cost ${currency}`, num: true, digits: 0, key: "cost" },
      { label: "Energy MWh", num: true, digits: 1, value: (o) => o.energy_kwh / 1e3 },
      { label: "Pareto", value: (o) => (o.pareto ? "yes" : "no") }] });
  fig.table(options);
  const skipped = rows(sel, "skipped");
  fill(out,
    h("div.panel", h("p", { "data-testid": "plan-summary" },
      `${options.length} options (${front.length} Pareto-optimal), ranked by ${sel.objective || "time"}. `,
      "Chosen: ", h("strong", label(best)), ` — ${num(days(best), 2)} days, `,
      `${num(best.cost, 0)} ${currency}, ${num(best.energy_kwh / 1e3, 1)} MWh.`),
    fig.el),
    h("div.panel", h("h2", "Options and why each other one lost"),
      optionsTable(options, best, front, currency)),
    skipped.length ? h("div.panel", h("h2", "Pools not considered"), table([
      { label: "Pool", key: "pool" }, { label: "Why", key: "reason" }], skipped)) : null);
  drawPareto(fig, options, currency);
}
