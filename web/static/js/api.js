// The JSON API (/api/v1) over fetch: the HttpOnly session cookie authenticates every call.
import { has, t } from "./i18n.js";

const TOKEN_KEY = "pst.token";
const SIGNED_IN_KEY = "pst.signedIn";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** Call the API; resolves to the parsed JSON (or null), rejects with ApiError. */
export async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch("/api/v1" + path, opts);
  } catch {
    throw new ApiError(0, "network", t("err.network"));
  }
  let data = null;
  if ((resp.headers.get("Content-Type") || "").includes("json")) {
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    if (resp.status === 401) forgetSession();
    throw new ApiError(resp.status, err.code || `http_${resp.status}`, err.message || resp.statusText);
  }
  return data;
}

/** Words for the user: our own translation of a known error code, else the server's message. */
export function errorText(err) {
  if (!err) return t("err.generic");
  const code = err.code || "";
  if (code && has(`err.${code}`)) return t(`err.${code}`);
  if (err.status === 401) return t("err.unauthenticated");
  if (err.message && err.message !== code) return err.message;
  if (err.status === 422) return t("err.validation");
  return t("err.generic");
}

export function rememberSession(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(SIGNED_IN_KEY, "1");
  } catch {
    // storage disabled: the cookie still authenticates
  }
}

export function forgetSession() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(SIGNED_IN_KEY);
  } catch {
    // nothing stored
  }
}

export function sessionToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Whether this browser signed in before; saves a 401 round trip (and a console error) for visitors. */
export function maybeSignedIn() {
  try {
    return localStorage.getItem(SIGNED_IN_KEY) === "1" || sessionStorage.getItem(TOKEN_KEY) !== null;
  } catch {
    return true;
  }
}

/** The signed-in user, or null. */
export async function currentUser() {
  if (!maybeSignedIn()) return null;
  try {
    return await api("GET", "/me");
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

export async function signIn(email, password) {
  const body = await api("POST", "/auth/login", { email, password });
  rememberSession(body.token);
  return body.user;
}

export async function signOut() {
  try {
    await api("POST", "/auth/logout");
  } finally {
    forgetSession();
  }
}

let officesPromise = null;

/** The offices (cached for the page's life). */
export function offices() {
  if (!officesPromise) {
    officesPromise = api("GET", "/offices").then((b) => b.offices || []).catch((err) => {
      officesPromise = null;
      throw err;
    });
  }
  return officesPromise;
}
