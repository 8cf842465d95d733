// Federation: centers (kind, accelerators, capacity and live utilisation, price, PUE, backend)
// and the WAN links between them. Refreshes capacity every 5 s.

import { api, rows } from "./api.js";
import { figure } from "./charts.js";
import { badge, fill, h, kpi, num, pageHead, pct, table, when } from "./ui.js";

/** Pools of a center with live capacity joined in: [{accelerator, total, free, busy, price}]. */
export function poolsOf(center) {
  const cap = center.capacity || {};
  return (center.pools || []).map((p) => {
    const total = p.devices ?? (p.nodes || 0) * (p.devices_per_node || 0);
    const live = cap[p.accelerator] || {};
    const liveTotal = live.total ?? total;
    const free = live.free ?? null;
    return {
      accelerator: p.accelerator, nodes: p.nodes, devices_per_node: p.devices_per_node,
      total: liveTotal, free, busy: free === null ? null : liveTotal - free,
      price: p.price_per_device_hour,
    };
  });
}

function centerSummary(c) {
  const pools = poolsOf(c);
  const total = pools.reduce((n, p) => n + (p.total || 0), 0);
  const known = pools.filter((p) => p.busy !== null);
  const busy = known.reduce((n, p) => n + p.busy, 0);
  const knownTotal = known.reduce((n, p) => n + p.total, 0);
  const prices = pools.map((p) => Number(p.price)).filter(Number.isFinite);
  return {
    ...c, pools, total, busy: known.length ? busy : null,
    util: known.length && knownTotal ? busy / knownTotal : null,
    priceMin: prices.length ? Math.min(...prices) : null,
    priceMax: prices.length ? Math.max(...prices) : null,
  };
}

const backendBadge = (b) => badge(b === "sim" ? "sim · simulated" : b, `b-${b}`);

function centersTable(centers, currency) {
  return table([
    { label: "Center", render: (c) => h("div", h("strong", c.name),
      h("div.muted.small", c.city || "")) },
    { label: "Kind", render: (c) => badge(c.kind, `b-${c.kind}`) },
    { label: "Backend", render: (c) => backendBadge(c.backend) },
    { label: "Accelerators", render: (c) => c.pools.map((p) =>
      h("div.small", `${p.accelerator} × ${num(p.total, 0)}`)) },
    { label: "Devices", num: true, digits: 0, key: "total" },
    { label: "In use", num: true, render: (c) => (c.busy === null ? "–" : num(c.busy, 0)) },
    { label: "Utilisation", num: true, render: (c) => pct(c.util) },
    { label: `Price ${currency}/device-h`, num: true, render: (c) => (c.priceMin === null ? "–"
      : c.priceMin === c.priceMax ? num(c.priceMin) : `${num(c.priceMin)}–${num(c.priceMax)}`) },
    { label: "PUE", num: true, key: "pue" },
  ], centers, { testid: "centers-table", caption: "Centers of the federation" });
}

function utilisationFigure() {
  return figure({
    title: "Devices in use by center and accelerator", testid: "util-chart", height: 340,
    columns: [{ label: "Pool", key: "label" }, { label: "In use", num: true, digits: 0, key: "busy" },
      { label: "Free", num: true, digits: 0, key: "free" },
      { label: "Utilisation", num: true, render: (r) => pct(r.util) }],
  });
}

function drawUtilisation(fig, centers) {
  const data = centers.flatMap((c) => c.pools.map((p) => ({
    label: `${c.name} · ${p.accelerator}`, busy: p.busy ?? 0, free: p.free ?? p.total,
    util: p.total && p.busy !== null ? p.busy / p.total : null,
  })));
  fig.table(data);
  const y = data.map((d) => d.label);
  fig.plot([
    { type: "bar", orientation: "h", name: "in use", y, x: data.map((d) => d.busy),
      marker: { color: "#1f5fbf" }, hovertemplate: "%{y}: %{x} in use<extra></extra>" },
    { type: "bar", orientation: "h", name: "free", y, x: data.map((d) => d.free),
      marker: { color: "#d5deeb" }, hovertemplate: "%{y}: %{x} free<extra></extra>" },
  ], { barmode: "stack", margin: { l: 200, r: 16, t: 10, b: 40 }, xaxis: { title: "devices" },
    yaxis: { autorange: "reversed", automargin: true } });
}

function linksSection(links, centers) {
  if (!links.length) {
    return h("div.panel", h("h2", "WAN links"),
      h("p.empty", "The API reports no WAN links for this federation."));
  }
  const names = centers.map((c) => c.name);
  const gbps = (l) => (l.bits_per_s ?? l.gbps * 1e9) / 1e9;
  const fig = figure({
    title: "WAN links: bandwidth between centers (Gb/s)", testid: "links-chart", height: 340,
    columns: [{ label: "From", key: "a" }, { label: "To", key: "b" },
      { label: "Bandwidth Gb/s", num: true, value: gbps },
      { label: "Latency ms", num: true, value: (l) => (l.latency_s ?? 0) * 1e3 }],
  });
  fig.table(links);
  const z = names.map((a) => names.map((b) => {
    const l = links.find((x) => (x.a === a && x.b === b) || (x.a === b && x.b === a));
    return l ? gbps(l) : null;
  }));
  const el = h("div.panel", fig.el);
  requestAnimationFrame(() => fig.plot([{
    type: "heatmap", x: names, y: names, z, colorscale: "Blues", hoverongaps: false,
    reversescale: true, colorbar: { title: { text: "Gb/s" }, thickness: 14 },
    hovertemplate: "%{y} ↔ %{x}: %{z} Gb/s<extra></extra>",
  }], { margin: { l: 110, r: 90, t: 10, b: 90 }, yaxis: { autorange: "reversed" } }));
  return el;
}

export async function render(ctx) {
  const [payload, fed] = await Promise.all([api("/centers"), api("/federation")]);
  const links = fed.links;
  const currency = fed.currency;
  const head = pageHead(`Federation · ${fed.name}`,
    "Computing centers of the network, their capacity right now, and the WAN links between them.");
  const kpis = h("div.grid.grid-4");
  const util = utilisationFigure();
  const tablePanel = h("div");
  const stamp = h("p.muted.small");
  const charts = h("div.grid.grid-2", h("div.panel", util.el));
  fill(ctx.main, head, kpis, h("div.panel", h("h2", "Centers and live capacity"), stamp,
    tablePanel), charts);

  const draw = (p) => {
    const centers = rows(p, "centers").map(centerSummary);
    const total = centers.reduce((n, c) => n + c.total, 0);
    const busy = centers.reduce((n, c) => n + (c.busy || 0), 0);
    fill(kpis,
      kpi("Centers", num(centers.length, 0),
        `${centers.filter((c) => c.kind === "supercomputing").length} supercomputing · ` +
        `${centers.filter((c) => c.kind === "ai").length} AI`),
      kpi("Devices", num(total, 0), "accelerators and CPU sockets"),
      kpi("In use now", pct(total ? busy / total : null), `${num(busy, 0)} devices busy`),
      kpi("Simulated centers", num(centers.filter((c) => c.backend === "sim").length, 0),
        "driven by the simulator's backend"));
    fill(tablePanel, centersTable(centers, currency));
    const at = centers.map((c) => c.capacity_at).filter(Boolean).sort().pop();
    stamp.textContent = at ? `capacity reported ${when(at)}` : "capacity not reported yet";
    drawUtilisation(util, centers);
    return centers;
  };
  const centers = draw(payload);
  charts.append(linksSection(links, centers));
  ctx.every(5000, async () => draw(await api("/centers")));
}
