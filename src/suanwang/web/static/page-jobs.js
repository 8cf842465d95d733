// Queue and jobs: live states (polled every 2 s), filter by state, placement, why a job waits;
// submit a job spec (YAML/JSON, pasted or uploaded).

import { api, rows } from "./api.js";
import { loadFileInto, parseSpec } from "./spec.js";
import { badge, errorBox, fill, h, kpi, num, pageHead, stateBadge, table, when } from "./ui.js";

export const STATES = ["PENDING", "ADMITTED", "DISPATCHED", "RUNNING", "RETRYING", "SUCCEEDED",
  "FAILED", "CANCELLED"];
const WAIT_REASONS = {
  quota: "tenant quota (max concurrent devices) is in use",
  insufficient_balance: "balance does not cover the predicted cost",
  capacity: "no center has the devices free",
  policy: "the scheduling policy runs other jobs first",
};

/** "center · accelerator × devices" from a job's placement (or "–"). */
export function placementText(p) {
  if (!p || typeof p !== "object") return "–";
  const where = p.center || (p.parts || []).map((x) => x.center).join(" + ");
  const chip = p.accelerator ? ` · ${p.accelerator}` : "";
  const size = p.devices ? ` × ${p.devices}` : p.nodes ? ` × ${p.nodes} nodes` : "";
  return `${where || "?"}${chip}${size}`;
}

export function reasonText(job) {
  if (!job.reason) return job.message || "";
  const known = WAIT_REASONS[job.reason];
  const why = known ? `${job.reason}: ${known}` : job.reason;
  return job.message ? `${why} (${job.message})` : why;
}

function jobsTable(jobs) {
  return table([
    { label: "ID", render: (j) => h("a", { href: `#/job/${j.id}` }, `#${j.id}`) },
    { label: "Name", key: "name" },
    { label: "Kind", render: (j) => badge(j.kind || "?", "") },
    { label: "State", render: (j) => h("span", { "data-testid": `job-state-${j.id}` },
      stateBadge(j.state)) },
    { label: "Placement", render: (j) => placementText(j.placement) },
    { label: "Waiting because", render: (j) => (j.state === "PENDING"
      ? h("span.small", { "data-testid": `job-reason-${j.id}` }, reasonText(j)) : "") },
    { label: "Submitted", render: (j) => h("span.small", when(j.created_at)) },
  ], jobs, { testid: "jobs-table", onRow: (j) => { location.hash = `#/job/${j.id}`; },
    empty: "No jobs match." });
}

function submitPanel(onSubmitted) {
  const text = h("textarea", { id: "spec-text", "aria-label": "Job spec (YAML or JSON)",
    placeholder: "kind: training\nname: my-run\nmodel: llama3-8b\ntokens: 1e9" });
  const file = h("input", { type: "file", accept: ".yaml,.yml,.json", "aria-label": "Upload spec" });
  loadFileInto(file, text);
  const msg = h("div");
  const submit = async (ev) => {
    ev.preventDefault();
    fill(msg);
    try {
      const job = await api("/jobs", { method: "POST", body: parseSpec(text.value) });
      fill(msg, h("p.small", "Submitted ", h("a", { href: `#/job/${job.id}` }, `job #${job.id}`),
        ` (${job.state}).`));
      onSubmitted();
    } catch (e) { fill(msg, errorBox(e)); }
  };
  return h("details.panel", h("summary", h("strong", "Submit a job")),
    h("form", { onsubmit: submit }, h("label", { for: "spec-text" }, "Job spec (YAML or JSON)"),
      text, h("div.row", { style: "margin-top:8px" }, file,
        h("button.btn.btn-primary", { type: "submit", "data-testid": "submit-job" }, "Submit")),
      msg));
}

export async function render(ctx) {
  const filter = h("select.inline", { "aria-label": "Filter by state", "data-testid": "state-filter" },
    h("option", { value: "" }, "all states"), STATES.map((s) => h("option", { value: s }, s)));
  const kpis = h("div.grid.grid-4");
  const list = h("div.panel");
  const stamp = h("span.muted.small");
  const load = async () => {
    const q = filter.value ? `?state=${encodeURIComponent(filter.value)}` : "";
    const [shown, all] = await Promise.all([api(`/jobs${q}`), q ? api("/jobs") : null]);
    const jobs = rows(shown, "jobs");
    const every = all ? rows(all, "jobs") : jobs;
    const count = (pred) => every.filter(pred).length;
    fill(kpis,
      kpi("Waiting", num(count((j) => j.state === "PENDING"), 0), "PENDING, with a reason"),
      kpi("Starting", num(count((j) => ["ADMITTED", "DISPATCHED", "RETRYING"].includes(j.state)), 0),
        "admitted, dispatched or retrying"),
      kpi("Running", num(count((j) => j.state === "RUNNING"), 0)),
      kpi("Finished", num(count((j) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(j.state)), 0),
        `${count((j) => j.state === "FAILED")} failed`));
    fill(list, jobsTable(jobs));
    stamp.textContent = `updated ${new Date().toLocaleTimeString("en-GB")} · refreshes every 2 s`;
  };
  filter.addEventListener("change", load);
  fill(ctx.main, pageHead("Queue & jobs", "Your jobs, their live state and placement.",
    h("label", { for: "state-filter-sel" }, "State"), filter), kpis, submitPanel(load),
  h("div.row", { style: "justify-content:flex-end;margin:10px 0 4px" }, stamp), list);
  filter.id = "state-filter-sel";
  await load();
  ctx.every(2000, load);
}
