// Simulator: replay a trace under several scheduling policies (POST /sim/compare) and compare
// them: summary table, JCT CDF and utilisation over time.

import { api } from "./api.js";
import { figure, PALETTE } from "./charts.js";
import { errorBox, fill, h, num, pageHead, pct, table } from "./ui.js";

function form(options, onRun) {
  const trace = h("select#sim-trace", options.traces.map((t) => h("option", { value: t }, t)));
  const jobs = h("input#sim-jobs", { type: "number", min: 10, max: 20000, value: 2000 });
  const gpus = h("input#sim-gpus", { type: "number", min: 8, max: 100000, value: 512 });
  const seed = h("input#sim-seed", { type: "number", min: 0, value: 0 });
  const boxes = options.policies.map((p) => h("label.row", { style: "font-weight:500" },
    h("input.inline", { type: "checkbox", value: p, checked: ["fifo", "backfill", "suanwang"]
      .includes(p) }), p));
  const btn = h("button.btn.btn-primary", { type: "submit", "data-testid": "sim-run" }, "Run comparison");
  const submit = async (ev) => {
    ev.preventDefault();
    const policies = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked)
      .map((i) => i.value);
    btn.disabled = true;
    try {
      await onRun({ trace: trace.value, jobs: Number(jobs.value), cluster_gpus: Number(gpus.value),
        seed: Number(seed.value), policies });
    } finally { btn.disabled = false; }
  };
  const field = (id, text, input) => h("div", h("label", { for: id }, text), input);
  return h("form.panel", { onsubmit: submit },
    h("div.grid.grid-4", field("sim-trace", "Trace", trace), field("sim-jobs", "Jobs (first N)", jobs),
      field("sim-gpus", "Cluster devices", gpus), field("sim-seed", "Seed", seed)),
    h("label", "Policies"), h("div.row", boxes), h("div.row", { style: "margin-top:10px" }, btn));
}

function summaryTable(res) {
  const data = Object.entries(res.policies).map(([policy, r]) => ({ policy, ...r.summary }));
  return table([
    { label: "Policy", key: "policy" },
    { label: "Mean JCT h", num: true, value: (r) => r.mean_jct_s / 3600 },
    { label: "p50 JCT h", num: true, value: (r) => r.p50_jct_s / 3600 },
    { label: "p99 JCT h", num: true, value: (r) => r.p99_jct_s / 3600 },
    { label: "Mean wait h", num: true, value: (r) => r.mean_wait_s / 3600 },
    { label: "Utilisation", num: true, render: (r) => pct(r.utilization) },
    { label: "Makespan days", num: true, value: (r) => r.makespan_s / 86400 },
    { label: "ETTR", num: true, digits: 3, key: "ettr" },
    { label: "Finished", num: true, render: (r) => `${num(r.finished, 0)}/${num(r.jobs, 0)}` },
  ], data, { testid: "sim-table", caption: `${res.trace} on ${res.cluster} (${num(res.devices, 0)} devices)` });
}

function show(out, res) {
  const names = Object.keys(res.policies);
  const cdf = figure({ title: "Job completion time (CDF)", testid: "jct-chart", height: 340,
    columns: [{ label: "Policy", key: "policy" }, { label: "p10 h", num: true, key: "p10" },
      { label: "p50 h", num: true, key: "p50" }, { label: "p90 h", num: true, key: "p90" }] });
  const q = (r, f) => r.jct_cdf.jct_s[Math.round(f * (r.jct_cdf.jct_s.length - 1))] / 3600;
  cdf.table(names.map((p) => ({ policy: p, p10: q(res.policies[p], 0.1),
    p50: q(res.policies[p], 0.5), p90: q(res.policies[p], 0.9) })));
  const util = figure({ title: "Utilisation over time", testid: "util-time-chart", height: 340,
    columns: [{ label: "Policy", key: "policy" }, { label: "Mean utilisation", render: (r) => pct(r.u) },
      { label: "Peak", render: (r) => pct(r.peak) }] });
  util.table(names.map((p) => {
    const u = res.policies[p].utilisation.utilisation;
    return { policy: p, u: res.policies[p].summary.utilization, peak: u.length ? Math.max(...u) : null };
  }));
  fill(out, h("div.panel", h("h2", "Summary"), summaryTable(res)),
    h("div.grid.grid-2", h("div.panel", cdf.el), h("div.panel", util.el)));
  cdf.plot(names.map((p, i) => ({ type: "scatter", mode: "lines", name: p,
    x: res.policies[p].jct_cdf.jct_s.map((s) => s / 3600), y: res.policies[p].jct_cdf.fraction,
    line: { color: PALETTE[i % PALETTE.length], width: 2 } })),
  { xaxis: { title: "job completion time (hours, log)", type: "log" },
    yaxis: { title: "fraction of jobs", range: [0, 1.02] } });
  util.plot(names.map((p, i) => ({ type: "scatter", mode: "lines", name: p, line: { shape: "linear",
    color: PALETTE[i % PALETTE.length], width: 1.4 },
  x: res.policies[p].utilisation.t_s.map((s) => s / 86400), y: res.policies[p].utilisation.utilisation })),
  { xaxis: { title: "time (days; mean per bin)" },
    yaxis: { title: "busy / all devices", range: [0, 1.05] } });
}

export async function render(ctx) {
  const options = await api("/sim/options");
  const out = h("div.stack");
  const run = async (body) => {
    fill(out, h("p.muted", "Simulating…"));
    try { show(out, await api("/sim/compare", { method: "POST", body })); } catch (e) {
      fill(out, errorBox(e));
    }
  };
  fill(ctx.main, pageHead("Simulator", "Replay a job trace under several scheduling policies on " +
    "a simulated cluster (the same simulator as `suanwang simulate`)."), form(options, run), out);
}
