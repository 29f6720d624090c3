// The JSON API (/api/v1) over fetch: the HttpOnly session cookie authenticates every call.
import { has, t } from "./i18n.js";

const TOKEN_KEY = "pst.token";
const SIGNED_IN_KEY = "pst.signedIn";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {}; // what the server adds to its error (e.g. the e-mail of a verified link)
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
    throw new ApiError(resp.status, err.code || `http_${resp.status}`, err.message || resp.statusText, err.details);
  }
  return data;
}

// What an answer's status means when its code has no words of ours.
const STATUS_WORDS = { 400: "err.validation", 403: "err.forbidden", 404: "err.not_found", 409: "err.conflict",
  413: "err.file_too_large", 415: "err.unsupported_file_type", 422: "err.validation", 429: "err.rate_limited",
  503: "err.unavailable" };

/**
 * Words for the user in the page's language: our own translation of the error's code, else of its
 * status. Never the server's text (written for developers, often in two languages at once); an
 * error made on the page itself (not an ApiError) says its own message.
 */
export function errorText(err) {
  if (!err) return t("err.generic");
  if (!(err instanceof ApiError)) return err.message || t("err.generic");
  const code = err.code || "";
  if (code && has(`err.${code}`)) return t(`err.${code}`);
  if (err.status === 401) return t("err.unauthenticated");
  return t(STATUS_WORDS[err.status] || "err.generic");
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
