// Small formatters the supervisors' views share: minutes, ages, fractions, counts, local dates.
import { locale, t } from "../i18n.js";

/** Working minutes as "3 j 20 mnt" / "3 h 20 min" ("—" when unknown). */
export function minutes(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  const total = Math.round(Number(value));
  const hours = Math.floor(total / 60);
  const mins = total % 60;
  if (!hours) return t("fig.min", { m: mins });
  if (!mins) return t("fig.hour", { h: hours });
  return t("fig.hour.min", { h: hours, m: mins });
}

/** An age in calendar minutes, shortened: "12 mnt", "5 j", "3 hr". */
export function age(value) {
  if (value === null || value === undefined) return "—";
  const m = Math.max(0, Math.round(Number(value)));
  if (m < 60) return t("fig.min", { m });
  if (m < 48 * 60) return t("fig.hour", { h: Math.floor(m / 60) });
  return t("fig.day", { d: Math.floor(m / 1440) });
}

/** A fraction 0..1 as a percentage ("—" when nothing was measured). */
export function percent(value) {
  if (value === null || value === undefined) return "—";
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(Number(value) * 100)}%`;
}

export function count(value) {
  return new Intl.NumberFormat(locale()).format(Number(value) || 0);
}

export function decimal(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(value));
}

/** Today's date in `tz` as YYYY-MM-DD. */
export function today(tz) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz || "Asia/Jakarta", year: "numeric", month: "2-digit",
    day: "2-digit" }).format(new Date());
}

/** "2 Nov" for a YYYY-MM-DD date (week labels). */
export function shortDay(isoDate) {
  const [y, m, d] = String(isoDate).split("-").map(Number);
  if (!y || !m || !d) return String(isoDate);
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}
