// The dashboard shell: login, hash router (#/page/arg), navigation, polling lifecycle.

import { api, clearToken, setToken, setUnauthorizedHandler, token } from "./api.js";
import { $, errorBox, fill, money } from "./ui.js";
import * as federation from "./page-federation.js";
import * as jobs from "./page-jobs.js";
import * as job from "./page-job.js";
import * as plans from "./page-plans.js";
import * as billing from "./page-billing.js";
import * as sim from "./page-sim.js";
import * as market from "./page-market.js";

const PAGES = { federation, jobs, job, plans, billing, sim, market };
const NAV_OF = { job: "jobs" };
let current = null; // {page, ctx}

/**
 * Context handed to a page: its own view element, and timers cleared when the page is left.
 * Each visit renders into a fresh element, so a render still awaiting the API after the user
 * moved on writes into a detached element, never over the next page; its timers never start.
 */
function makeCtx(main) {
  const timers = [];
  return {
    main,
    alive: true,
    every(ms, fn) {
      if (!this.alive) return;
      const tick = async () => {
        if (document.hidden) return;
        try { await fn(); } catch (e) { console.warn(e); }
      };
      timers.push(setInterval(tick, ms));
    },
    stop() { this.alive = false; timers.forEach(clearInterval); },
  };
}

async function route() {
  if (!token()) return showLogin();
  showShell();
  const [name = "federation", ...args] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "federation";
  for (const a of document.querySelectorAll(".sidebar a")) {
    if (a.dataset.page === (NAV_OF[page] || page)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current) current.ctx.stop();
  const main = $("#main");
  const view = document.createElement("div");
  view.className = "stack";
  main.replaceChildren(view);
  main.dataset.page = page;
  const ctx = makeCtx(view);
  current = { page, ctx };
  try {
    await PAGES[page].render(ctx, ...args.map(decodeURIComponent));
  } catch (e) {
    fill(view, errorBox(e.status === 404 ? `Not found: ${e.message}` : e));
  }
  refreshWho();
}

async function refreshWho() {
  try {
    const b = await api("/balance");
    $("#who-tenant").textContent = b.tenant;
    $("#who-balance").textContent = `available ${money(b.available, b.currency)}`;
  } catch { /* shown on the pages themselves */ }
}

function showLogin() {
  if (current) { current.ctx.stop(); current = null; }
  $("#shell").hidden = true;
  $("#login").hidden = false;
  $("#token").focus();
}

function showShell() {
  $("#login").hidden = true;
  $("#shell").hidden = false;
}

async function login(ev) {
  ev.preventDefault();
  const t = $("#token").value.trim();
  const err = $("#login-error");
  err.textContent = "";
  try {
    await api("/balance", { tok: t });
  } catch (e) {
    err.textContent = e.status === 401 || e.status === 403
      ? "This token is not valid." : `Cannot reach the API: ${e.message}`;
    return;
  }
  setToken(t);
  $("#token").value = "";
  if (!location.hash || location.hash === "#/") location.hash = "#/federation";
  else route();
}

function logout() {
  clearToken();
  location.hash = "";
  showLogin();
}

setUnauthorizedHandler(() => { clearToken(); showLogin(); });
$("#login-form").addEventListener("submit", login);
$("#logout").addEventListener("click", logout);
window.addEventListener("hashchange", route);
route();
