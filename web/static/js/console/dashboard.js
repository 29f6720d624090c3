// The reports dashboard (#dashboard): an office's (or, for national admins, every office's) figures over
// a period of local dates, with charts drawn by Chart.js (npm, served as /vendor/chart.umd.min.js and
// loaded only when the dashboard opens): consultations by week, SLA compliance by week, average working
// minutes to the first answer and to the close, IKM by element (GET /reports/ikm, once the survey
// exists), the busiest hours, channels. The figures download as CSV/XLSX; the page prints to PDF
// (print CSS: no navigation, no buttons, charts sized for A4).
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import { t } from "../i18n.js";
import * as fig from "./figures.js";

const CHART_URL = "/vendor/chart.umd.min.js";
const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
const IKM_ELEMENTS = ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"];
const COLORS = { blue: "#0d63b3", blueSoft: "#9cc3ea", orange: "#f28c28", green: "#2e7d32", red: "#c62828", grey: "#8a96a3" };
const CHANNEL_COLORS = ["#0d63b3", "#f28c28", "#2e7d32", "#8e44ad"];

async function chartLib() {
  // The UMD build sets globalThis.Chart when evaluated (as a module too); a second import is free.
  await import(CHART_URL);
  return globalThis.Chart;
}

/** The dashboard view of the console `ui`. */
export function createDashboard(ui) {
  const { state } = ui;
  const el = h("section", { class: "sup-view dashboard-view", id: "dashboard-view", hidden: true,
    "aria-labelledby": "dashboard-h" });
  const view = { office: null, from: null, to: null, charts: [], loading: 0, data: null };

  const national = () => state.me && state.me.role === "admin" && !state.me.office;

  function allowed() {
    return Boolean(state.me && SUPERVISOR_ROLES.has(state.me.role));
  }

  function tz() {
    return state.offices.get(view.office)?.time_zone || "Asia/Jakarta";
  }

  function defaults() {
    if (!view.office) view.office = state.me.office || "all";
    if (!view.to) view.to = fig.today(tz());
    if (!view.from) view.from = `${view.to.slice(0, 8)}01`;
  }

  function query() {
    return new URLSearchParams({ office: view.office, from: view.from, to: view.to }).toString();
  }

  function destroyCharts() {
    for (const c of view.charts) c.destroy();
    view.charts = [];
  }

  function controls() {
    const officeSel = national()
      ? h("select", { id: "dash-office", name: "office" },
        h("option", { value: "all", text: t("dash.office.all") }),
        [...state.offices.values()].map((o) => h("option", { value: o.code, text: o.name })))
      : null;
    if (officeSel) officeSel.value = view.office;
    const from = h("input", { type: "date", id: "dash-from", name: "from", value: view.from, required: true });
    const to = h("input", { type: "date", id: "dash-to", name: "to", value: view.to, required: true });
    const form = h("form", { class: "dash-controls no-print", id: "dash-form" },
      officeSel ? h("label", { class: "field" }, h("span", { text: t("kb.office.label") }), officeSel) : null,
      h("label", { class: "field" }, h("span", { text: t("hist.from") }), from),
      h("label", { class: "field" }, h("span", { text: t("hist.to") }), to),
      h("div", { class: "row" },
        h("button", { type: "submit", class: "btn primary", text: t("dash.apply") }),
        h("button", { type: "button", class: "btn ghost", id: "dash-print", text: t("dash.print"), onclick: () => window.print() })));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (officeSel) view.office = officeSel.value;
      view.from = from.value;
      view.to = to.value;
      load();
    });
    return form;
  }

  function downloads() {
    const q = query();
    const link = (path, fmtName, label) => h("a", { class: "btn small ghost", href: `/api/v1${path}?${q}&format=${fmtName}`,
      download: "", text: label });
    return h("div", { class: "dash-downloads no-print", id: "dash-downloads" },
      h("span", { class: "small muted", text: t("dash.download") }),
      link("/reports/summary", "csv", t("dash.dl.summary.csv")),
      link("/reports/summary", "xlsx", t("dash.dl.summary.xlsx")),
      link("/reports/consultations", "csv", t("dash.dl.list.csv")),
      link("/reports/consultations", "xlsx", t("dash.dl.list.xlsx")));
  }

  function kpi(id, label, value, sub) {
    return h("div", { class: "tile", id: `kpi-${id}` },
      h("span", { class: "tile-value", text: String(value) }),
      h("span", { class: "tile-label", text: label }),
      sub ? h("span", { class: "tile-sub small muted", text: sub }) : null);
  }

  function kpis(s) {
    const fr = s.first_response_minutes;
    const rs = s.resolution_minutes;
    const ikm = s.ikm || {};
    return h("div", { class: "tiles dash-kpis" },
      kpi("total", t("dash.kpi.total"), fig.count(s.consultations.total)),
      kpi("sla", t("dash.kpi.sla"), fig.percent(s.sla.compliance), t("dash.kpi.sla.sub", { met: s.sla.met, breached: s.sla.breached })),
      kpi("first", t("dash.kpi.first"), fig.minutes(fr.median), t("dash.kpi.p90", { v: fig.minutes(fr.p90) })),
      kpi("resolution", t("dash.kpi.resolution"), fig.minutes(rs.median), t("dash.kpi.p90", { v: fig.minutes(rs.p90) })),
      kpi("rating", t("dash.kpi.rating"), fig.decimal(s.ratings.average), t("dash.kpi.rating.sub", { n: s.ratings.count })),
      kpi("ikm", t("dash.kpi.ikm"), ikm.ikm === null || ikm.ikm === undefined ? "—" : fig.decimal(ikm.ikm, 2),
        ikm.grade ? t("dash.kpi.ikm.sub", { grade: ikm.grade, n: ikm.responses }) : t("dash.kpi.ikm.none")),
      kpi("idle", t("dash.kpi.idle"), fig.percent(s.idle_closed?.share)),
      kpi("complaints", t("dash.kpi.complaints"), fig.count(s.complaints.open), t("dash.kpi.complaints.sub", { total: s.complaints.total, overdue: s.complaints.overdue })),
      kpi("walkin", t("dash.kpi.walkin"), fig.percent(s.walk_in.promise_compliance), t("dash.kpi.walkin.sub", { n: s.walk_in.tickets, served: s.walk_in.served })),
      kpi("kb", t("dash.kpi.kb"), fig.count(s.kb?.searches_without_result)));
  }

  function chartBox(id, title, note, empty = false) {
    return h("figure", { class: "chart-box card", id: `${id}-box` },
      h("figcaption", { text: title }),
      empty ? null : h("div", { class: "chart-canvas" }, h("canvas", { id, role: "img", "aria-label": title })),
      note ? h("p", { class: "small muted chart-note", text: note }) : null);
  }

  function common(Chart, extra = {}) {
    return { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }, ...extra };
  }

  function draw(Chart, s, tr, ikm) {
    const labels = tr.weeks.map((w) => fig.shortDay(w.week));
    const make = (id, config) => {
      const canvas = el.querySelector(`#${id}`);
      if (!canvas) return;
      const chart = new Chart(canvas, config);
      view.charts.push(chart);
      canvas.dataset.ready = "1";
    };
    make("chart-weeks", { type: "bar", data: { labels, datasets: [
      { label: t("dash.series.online"), data: tr.weeks.map((w) => w.consultations - w.walk_in), backgroundColor: COLORS.blue, stack: "n" },
      { label: t("dash.series.walkin"), data: tr.weeks.map((w) => w.walk_in), backgroundColor: COLORS.orange, stack: "n" },
    ] }, options: common(Chart, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) });
    make("chart-sla", { type: "line", data: { labels, datasets: [
      { label: t("dash.series.sla"), data: tr.weeks.map((w) => (w.sla_compliance === null ? null : Math.round(w.sla_compliance * 1000) / 10)),
        borderColor: COLORS.green, backgroundColor: COLORS.green, spanGaps: true },
    ] }, options: common(Chart, { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } } }) });
    const hours = (m) => (m === null || m === undefined ? null : Math.round((m / 60) * 10) / 10);
    make("chart-times", { type: "line", data: { labels, datasets: [
      { label: t("dash.series.first"), data: tr.weeks.map((w) => hours(w.first_response_avg_minutes)), borderColor: COLORS.blue,
        backgroundColor: COLORS.blue, spanGaps: true },
      { label: t("dash.series.resolution"), data: tr.weeks.map((w) => hours(w.resolution_avg_minutes)), borderColor: COLORS.orange,
        backgroundColor: COLORS.orange, spanGaps: true },
    ] }, options: common(Chart, { scales: { y: { beginAtZero: true, title: { display: true, text: t("dash.axis.hours") } } } }) });
    make("chart-hours", { type: "bar", data: { labels: tr.hours.by_hour.map((_, i) => `${String(i).padStart(2, "0")}`),
      datasets: [{ label: t("dash.series.arrivals"), data: tr.hours.by_hour, backgroundColor: COLORS.blueSoft }] },
    options: common(Chart, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) });
    const channels = Object.entries(s.consultations.by_channel);
    make("chart-channels", { type: "doughnut", data: { labels: channels.map(([k]) => t(`sup.channel.${k}`)),
      datasets: [{ data: channels.map(([, v]) => v), backgroundColor: CHANNEL_COLORS }] }, options: common(Chart) });
    if (ikm && ikm.elements && ikm.responses) {
      make("chart-ikm", { type: "bar", data: { labels: IKM_ELEMENTS.map((k) => t(`dash.ikm.${k}`)),
        datasets: [{ label: t("dash.series.nrr"), data: IKM_ELEMENTS.map((k) => (ikm.elements[k] ? ikm.elements[k].nrr : null)),
          backgroundColor: COLORS.green }] },
      options: common(Chart, { indexAxis: "y", scales: { x: { min: 0, max: 4 } } }) });
    }
  }

  async function load() {
    defaults();
    const run = ++view.loading;
    destroyCharts();
    const officeName = view.office === "all" ? t("dash.office.all") : state.offices.get(view.office)?.name || view.office;
    const body = h("div", { id: "dash-body", "aria-busy": "true" }, h("p", { class: "muted", text: t("kb.loading") }));
    fill(el,
      h("div", { class: "sup-head" },
        h("h2", { id: "dashboard-h", text: t("dash.title") }),
        h("p", { class: "dash-period", id: "dash-period", text: t("dash.period", { office: officeName, from: view.from, to: view.to }) })),
      controls(), downloads(), body);
    let s;
    let tr;
    let ikm = null;
    try {
      [s, tr, ikm] = await Promise.all([
        api("GET", `/reports/summary?${query()}`),
        api("GET", `/reports/trends?${query()}`),
        api("GET", `/reports/ikm?${query()}`).catch(() => null),
      ]);
    } catch (err) {
      if (run === view.loading) fill(body, h("p", { class: "error", role: "alert", text: errorText(err) }));
      return;
    }
    if (run !== view.loading || el.hidden) return;
    view.data = { s, tr, ikm };
    fill(body,
      kpis(s),
      h("div", { class: "chart-grid" },
        chartBox("chart-weeks", t("dash.chart.weeks")),
        chartBox("chart-sla", t("dash.chart.sla")),
        chartBox("chart-times", t("dash.chart.times"), t("dash.chart.times.note")),
        chartBox("chart-hours", t("dash.chart.hours")),
        ikm && ikm.elements && ikm.responses ? chartBox("chart-ikm", t("dash.chart.ikm"))
          : chartBox("chart-ikm", t("dash.chart.ikm"), t("dash.chart.ikm.none"), true),
        chartBox("chart-channels", t("dash.chart.channels"))),
      h("p", { class: "small muted dash-footnote", text: t("dash.footnote") }));
    body.removeAttribute("aria-busy");
    try {
      const Chart = await chartLib();
      if (run !== view.loading) return;
      draw(Chart, s, tr, ikm);
      el.dataset.ready = "1";
    } catch (err) {
      body.prepend(h("p", { class: "error", role: "alert", text: t("dash.charts.failed") }));
    }
  }

  function show() {
    el.hidden = false;
    if (!allowed()) {
      fill(el, h("p", { class: "notice", text: t("sup.only") }));
      return;
    }
    if (!view.data) load();
  }

  window.addEventListener("beforeprint", () => { for (const c of view.charts) c.resize(); });
  window.addEventListener("afterprint", () => { for (const c of view.charts) c.resize(); });

  return {
    name: "dashboard",
    el,
    label: () => t("dash.tab"),
    hash: () => "#dashboard",
    allowed,
    matches: (hash) => hash === "#dashboard",
    go: () => {},
    show,
    hide: () => { el.hidden = true; },
    changed: () => {},
    onOffice: () => {},
    // A new language: the next show() (render() calls it for the current view) draws it again.
    rebuild: () => { view.data = null; },
  };
}
