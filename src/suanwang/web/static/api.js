// HTTP client for the suanwang API (/api/v1). The bearer token lives in sessionStorage only.

const BASE = "/api/v1";
const KEY = "suanwang.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

// API errors: {"detail": "text"}, or 422 {"detail": [{loc, msg}], "field", "message"}.
function describe(status, body) {
  if (body && typeof body === "object" && typeof body.message === "string") return body.message;
  const detail = body && typeof body === "object" && "detail" in body ? body.detail : body;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".")}: ${d.msg}`)
      .join("; ");
  }
  if (detail && typeof detail === "object") return detail.message || JSON.stringify(detail);
  return detail || `HTTP ${status}`;
}

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const clearToken = () => sessionStorage.removeItem(KEY);

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** Call the API: returns parsed JSON (or text), throws ApiError on a non-2xx answer. */
export async function api(path, { method = "GET", body, tok } = {}) {
  const headers = { Accept: "application/json" };
  const auth = tok || token();
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    if (res.status === 401 && !tok) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data;
}

/** A list endpoint may answer a bare list or an envelope ({data|items|jobs|...: [...]}). */
export function rows(payload, ...keys) {
  if (Array.isArray(payload)) return payload;
  if (!payload || typeof payload !== "object") return [];
  for (const k of [...keys, "data", "items", "results"]) {
    if (Array.isArray(payload[k])) return payload[k];
  }
  return [];
}
