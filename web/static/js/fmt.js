// Times are stored in UTC and shown in the office's time zone.
import { locale } from "./i18n.js";

const ABBR = { "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT" };
const DEFAULT_TZ = "Asia/Jakarta";

function zone(tz) {
  return tz || DEFAULT_TZ;
}

export function tzAbbr(tz) {
  const z = zone(tz);
  if (ABBR[z]) return ABBR[z];
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone: z, timeZoneName: "short" })
      .formatToParts(new Date()).find((p) => p.type === "timeZoneName");
    return part ? part.value : z;
  } catch {
    return z;
  }
}

function valid(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Senin, 23 November 2026 09.00 WITA" */
export function dateTime(iso, tz, { weekday = true } = {}) {
  const d = valid(iso);
  if (!d) return "";
  const opts = { timeZone: zone(tz), day: "numeric", month: "long", year: "numeric", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" };
  if (weekday) opts.weekday = "long";
  return `${new Intl.DateTimeFormat(locale(), opts).format(d)} ${tzAbbr(tz)}`;
}

/** "23 Nov 2026 09.00 WITA" */
export function shortDateTime(iso, tz) {
  const d = valid(iso);
  if (!d) return "";
  const f = new Intl.DateTimeFormat(locale(), { timeZone: zone(tz), day: "numeric", month: "short",
    year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${f.format(d)} ${tzAbbr(tz)}`;
}

/** "3 Des 08.00": a near moment in a few characters (the year and zone left to the details). */
export function dayMonthTime(iso, tz) {
  const d = valid(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat(locale(), { timeZone: zone(tz), day: "numeric", month: "short", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" }).format(d);
}

export function time(iso, tz) {
  const d = valid(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat(locale(), { timeZone: zone(tz), hour: "2-digit", minute: "2-digit",
    hourCycle: "h23" }).format(d);
}

export function day(iso, tz) {
  const d = valid(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat(locale(), { timeZone: zone(tz), weekday: "long", day: "numeric",
    month: "long", year: "numeric" }).format(d);
}

/** YYYY-MM-DD of `iso` in `tz` (for grouping by day). */
export function dayKey(iso, tz) {
  const d = valid(iso);
  if (!d) return "";
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone(tz), year: "numeric", month: "2-digit",
    day: "2-digit" }).format(d);
}

function offsetMinutes(tz, date) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone(tz), hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

/** A datetime-local value ("2026-11-23T10:30") read as a wall-clock time in `tz`, as ISO 8601 with offset. */
export function localToIso(value, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value || "");
  if (!m) return null;
  const guess = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
  const off = offsetMinutes(tz, guess);
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${value}:00${sign}${hh}:${mm}`;
}

export function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
