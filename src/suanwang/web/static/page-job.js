// Job detail: state timeline, loss and tokens/s curves that grow while it runs, MFU, ETTR so far,
// plan and placement, cost so far, log tail. Polls every 2 s until the job is terminal.

import { api, rows } from "./api.js";
import { figure, PALETTE } from "./charts.js";
import { placementText, reasonText } from "./page-jobs.js";
import { duration, errorBox, fill, h, kpi, money, num, pageHead, pct, stateBadge, when }
  from "./ui.js";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/**
 * ETTR so far = productive step time / wall time since the first step's attempt started, where a
 * step is productive if no later sample recomputed it (same definition as runtime/metrics.py,
 * after ByteRobust and Llama 3). Needs per-sample ``step_time_s`` (in the sample or its detail).
 * Returns null when the samples do not carry step times.
 */
export function ettrSoFar(metrics, startedAt, now) {
  const last = new Map();
  for (const m of metrics) last.set(m.step, m);
  let productive = 0;
  for (const m of last.values()) {
    const st = m.step_time_s ?? (m.detail || {}).step_time_s;
    if (!Number.isFinite(st)) return null;
    productive += st;
  }
  const t0 = Date.parse(startedAt);
  const wall = (now - t0) / 1000;
  return Number.isFinite(wall) && wall > 0 ? Math.min(1, productive / wall) : null;
}

function timeline(events) {
  if (!events.length) return h("p.empty", "No events yet.");
  // a transition shows from -> to; a note (failure, restart... from == to) shows its reason
  return h("ol.timeline", { "data-testid": "timeline" }, events.map((e) => h(
    e.from_state && e.from_state === e.to_state ? "li.note" : "li",
    h("div", e.from_state && e.from_state !== e.to_state ? [stateBadge(e.from_state), " → "] : null,
      stateBadge(e.to_state), " ", e.from_state === e.to_state
        ? h("strong.small", e.reason || "") : h("span.small", e.reason || "")),
    h("div.when", when(e.at)),
    e.detail && Object.keys(e.detail).length ? h("div.small.muted", Object.entries(e.detail)
      .filter(([, v]) => v !== "" && v !== null)
      .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · "))
      : null)));
}

function facts(pairs) {
  return h("dl.facts", pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", k), h("dd", v)]));
}

/** The plan's entry for the pool the job was placed on (plan.pools["center/accelerator"]). */
function chosenPool(job) {
  const pools = (job.plan || {}).pools || {};
  const p = job.placement || {};
  return pools[`${p.center}/${p.accelerator}`] || null;
}

function planFacts(job) {
  const plan = job.plan || {};
  const pool = chosenPool(job);
  const pools = Object.keys(plan.pools || {});
  // checkpoint_every_s: plans stored before the rename to checkpoint_interval_s
  const ckpt = pool && (pool.checkpoint_interval_s || pool.checkpoint_every_s);
  return facts([
    ["Placement", placementText(job.placement)],
    ["Backend", (job.placement || {}).backend || "–"],
    ["Planned size", plan.devices ? `${num(plan.devices, 0)} devices (${plan.source})` : "–"],
    ["Pools that fit", pools.length ? pools.join(", ") : "–"],
    pool ? ["Predicted time", duration(pool.time_s)] : null,
    ckpt ? ["Checkpoint interval", duration(ckpt)] : null,
    ["Predicted cost (hold)", money(job.quote, currency)],
    ["Submitted", when(job.created_at)],
    ["Started", when(job.started_at)],
    ["Ended", when(job.ended_at)],
  ]);
}

function curves() {
  const cols = (key, label, digits) => [{ label: "Step", key: "step", num: true, digits: 0 },
    { label: "Run", num: true, digits: 0, key: "run" },
    { label, key, num: true, digits }];
  return {
    loss: figure({ title: "Training loss", testid: "loss-chart", height: 280,
      empty: "No training samples yet: the curve starts with the first step.",
      columns: cols("loss", "Loss", 4) }),
    tps: figure({ title: "Throughput (tokens/s)", testid: "tps-chart", height: 280,
      empty: "No throughput samples yet.",
      columns: cols("tokens_per_s", "Tokens/s", 0) }),
  };
}

/**
 * Which run of the job each sample belongs to: the controller's attempt (``detail.attempt``) and,
 * within it, how many runtime restarts (``runtime_restart`` events) came before the sample.
 * A restart resumes from the last checkpoint, so the steps after it are trained again.
 */
export function runOf(metrics, events) {
  const restarts = events.filter((e) => e.reason === "runtime_restart").map((e) => e.at).sort();
  return metrics.map((m) => {
    const before = restarts.filter((t) => t <= m.at).length;
    return `${(m.detail || {}).attempt ?? 0}.${before}`;
  });
}

/** One line per run (see runOf): the overlap of two lines is the work lost to a failure. */
function drawCurves(figs, metrics, events) {
  const run = runOf(metrics, events);
  const runs = [...new Set(run)];
  const several = runs.length > 1;
  const lines = (key, color) => runs.map((r, i) => {
    const ms = metrics.filter((_, k) => run[k] === r);
    return { type: "scatter", mode: "lines+markers", x: ms.map((m) => m.step),
      y: ms.map((m) => m[key]), name: `run ${i + 1}`, marker: { size: 4 },
      line: { color: several ? PALETTE[i % PALETTE.length] : color, width: 2 } };
  });
  const table = metrics.map((m, k) => ({ ...m, run: runs.indexOf(run[k]) + 1 }));
  figs.loss.table(table);
  figs.tps.table(table);
  figs.loss.plot(lines("loss", "#1f5fbf"),
    { xaxis: { title: "step" }, yaxis: { title: "loss" }, showlegend: several });
  figs.tps.plot(lines("tokens_per_s", "#1c7c54"),
    { xaxis: { title: "step" }, yaxis: { title: "tokens/s" }, showlegend: several });
}

let currency = "";
let listPrices = null; // "center/accelerator" -> price per device-hour, from /centers

/**
 * Cost so far: once settled, the sum of this job's invoice lines (exact, from /invoices);
 * while it runs, devices x hours since it started x the pool's list price per device-hour
 * (an estimate shown as such: usage is metered and priced when the attempt ends).
 */
async function costSoFar(job) {
  const periods = [...new Set([job.created_at, job.ended_at || new Date().toISOString()]
    .map((t) => t.slice(0, 7)))];
  const invoices = await Promise.all(periods.map((p) => api(`/invoices?period=${p}`)));
  currency = invoices[0].currency;
  const lines = invoices.flatMap((i) => i.lines).filter((l) => l.job_id === job.id);
  if (lines.length) {
    const cents = lines.reduce((n, l) => n + Math.round(Number(l.amount) * 1e4), 0);
    return { amount: (cents / 1e4).toFixed(4), note: `${lines.length} invoice lines (settled)` };
  }
  const p = job.placement;
  if (!p || !job.started_at) return { amount: "0", note: "not started" };
  if (!listPrices) {
    listPrices = {};
    for (const c of rows(await api("/centers"))) {
      for (const pool of c.pools) listPrices[`${c.name}/${pool.accelerator}`] = pool.price_per_device_hour;
    }
  }
  const end = job.ended_at ? Date.parse(job.ended_at) : Date.now();
  const hours = Math.max(0, end - Date.parse(job.started_at)) / 3.6e6;
  const price = listPrices[`${p.center}/${p.accelerator}`];
  if (price === undefined) return { amount: null, note: "price unknown" };
  return { amount: (p.devices * hours * price).toFixed(4),
    note: `≈ ${num(p.devices * hours, 4)} device-h at list price; settles at the end` };
}

export async function render(ctx, id) {
  const job0 = await api(`/jobs/${encodeURIComponent(id)}`);
  const figs = curves();
  const head = h("div");
  const kpis = h("div.grid.grid-5");
  const planPanel = h("div");
  const events = h("div.timeline-scroll");
  const log = h("pre.log", { "data-testid": "log" });
  const msg = h("div");
  const cancel = h("button.btn.btn-danger", { type: "button", "data-testid": "cancel-job",
    onclick: async () => {
      try { await api(`/jobs/${id}/cancel`, { method: "POST" }); fill(msg, h("p.small",
        "Cancellation requested; the controller will stop the job.")); } catch (e) {
        fill(msg, errorBox(e));
      }
    } }, "Cancel job");
  fill(ctx.main, head, msg, kpis, h("div.grid.grid-2", h("div.panel", figs.loss.el),
    h("div.panel", figs.tps.el)), h("div.grid.grid-2",
    h("div.panel", h("h2", "Plan and placement"), planPanel),
    h("div.panel", h("h2", "State timeline"), events)),
  h("div.panel", h("h2", "Log (tail)"), log));

  const load = async () => {
    const [job, ev, met] = await Promise.all([api(`/jobs/${id}`), api(`/jobs/${id}/events`),
      api(`/jobs/${id}/metrics`)]);
    const metrics = rows(met).slice().sort((a, b) => a.at.localeCompare(b.at) || a.step - b.step);
    fill(head, pageHead(`Job #${job.id} · ${job.name}`, h("span", stateBadge(job.state),
      "  ", h("span.small", { "data-testid": "job-reason" }, reasonText(job))),
    TERMINAL.has(job.state) ? null : cancel));
    const lastM = metrics[metrics.length - 1] || {};
    const ettr = ettrSoFar(metrics, job.started_at, job.ended_at ? Date.parse(job.ended_at)
      : Date.now());
    const cost = await costSoFar(job);
    fill(kpis,
      kpi("State", h("span", { "data-testid": "job-state" }, job.state), reasonText(job)),
      kpi("Steps", num(lastM.step ?? 0, 0), lastM.loss !== undefined
        ? `loss ${num(lastM.loss, 4)}` : "no samples yet"),
      kpi("MFU (last sample)", pct(lastM.mfu), `${num(lastM.tokens_per_s, 0)} tokens/s`),
      kpi("Cost so far", money(cost.amount, currency), cost.note),
      kpi("ETTR so far", ettr === null ? "–" : pct(ettr), "productive step time / wall time"));
    fill(planPanel, planFacts(job));
    fill(events, timeline(rows(ev, "events")));
    drawCurves(figs, metrics, rows(ev));
    try {
      const lg = await api(`/jobs/${id}/logs`);
      log.textContent = (lg.attempts || []).map((a) => `── attempt ${a.attempt} on ${a.center}` +
        ` (${a.state}${a.exit_code === null ? "" : `, exit ${a.exit_code}`}) ──\n${a.text}`)
        .join("\n") || "(no attempts yet)";
    } catch (e) { log.textContent = `(no log: ${e.message})`; }
    return job;
  };
  await load();
  if (!TERMINAL.has(job0.state)) {
    ctx.every(2000, async () => {
      const job = await load();
      if (TERMINAL.has(job.state)) ctx.stop();
    });
  }
}
