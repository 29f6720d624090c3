// The IKM (#ikm) for supervisors and admins: the SKM survey's index over a period of local dates (GET
// /reports/ikm): the IKM and its grade, the respondents against the Krejcie-Morgan sample the period's
// population needs, the NRR of each of the nine elements as a chart (Chart.js from npm, served as
// /vendor/chart.umd.min.js, the same build the dashboard loads) and a table with the lowest elements
// highlighted, the figures per channel and per officer, and the latest suggestions.
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import { lang, t } from "../i18n.js";
import * as fig from "./figures.js";

const CHART_URL = "/vendor/chart.umd.min.js";
const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
const KEYS = ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"];
const CHANNELS = ["online", "walk_in", "whatsapp", "email"];
const COLORS = { normal: "#0d63b3", low: "#f28c28" };

async function chartLib() {
  await import(CHART_URL);
  return globalThis.Chart;
}

/** The IKM view of the console `ui`. */
export function createIkm(ui) {
  const { state } = ui;
  const el = h("section", { class: "sup-view ikm-view", id: "ikm-view", hidden: true, "aria-labelledby": "ikm-h" });
  const view = { office: null, from: null, to: null, data: null, chart: null, run: 0 };

  const allowed = () => Boolean(state.me && SUPERVISOR_ROLES.has(state.me.role));
  const national = () => state.me && state.me.role === "admin" && !state.me.office;
  const tz = () => state.offices.get(view.office)?.time_zone || "Asia/Jakarta";

  function defaults() {
    if (!view.office) view.office = state.me.office || state.office || "all";
    if (!view.to) view.to = fig.today(tz());
    if (!view.from) view.from = `${view.to.slice(0, 8)}01`;
  }

  function controls() {
    const officeSel = national()
      ? h("select", { id: "ikm-office", name: "office" }, h("option", { value: "all", text: t("dash.office.all") }),
        [...state.offices.values()].map((o) => h("option", { value: o.code, text: o.name })))
      : null;
    if (officeSel) officeSel.value = view.office;
    const from = h("input", { type: "date", id: "ikm-from", value: view.from, required: true });
    const to = h("input", { type: "date", id: "ikm-to", value: view.to, required: true });
    const form = h("form", { class: "dash-controls no-print", id: "ikm-form" },
      officeSel ? h("label", { class: "field" }, h("span", { text: t("kb.office.label") }), officeSel) : null,
      h("label", { class: "field" }, h("span", { text: t("hist.from") }), from),
      h("label", { class: "field" }, h("span", { text: t("hist.to") }), to),
      h("div", { class: "row" }, h("button", { type: "submit", class: "btn primary", text: t("dash.apply") })));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (officeSel) view.office = officeSel.value;
      view.from = from.value;
      view.to = to.value;
      load();
    });
    return form;
  }

  function tile(id, label, value, sub, extra = "") {
    return h("div", { class: `tile ${extra}`, id: `ikm-${id}` }, h("span", { class: "tile-value", text: String(value) }),
      h("span", { class: "tile-label", text: label }), sub ? h("span", { class: "tile-sub small muted", text: sub }) : null);
  }

  function figuresTable(id, headKey, rows) {
    return h("div", { class: "table-wrap" }, h("table", { class: "table", id },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t(headKey) }), h("th", { scope: "col", class: "num", text: t("ikm.responses") }),
        h("th", { scope: "col", class: "num", text: t("ikm.value") }), h("th", { scope: "col", text: t("ikm.grade") }))),
      h("tbody", {}, rows.map(([label, f]) => h("tr", {}, h("td", { text: label }), h("td", { class: "num", text: fig.count(f.responses) }),
        h("td", { class: "num", text: fig.decimal(f.ikm, 2) }), h("td", { text: f.grade || "—" }))))));
  }

  function paint(d) {
    const low = new Set(d.lowest || []);
    const label = (k) => (d.labels && d.labels[k]) || t(`dash.ikm.${k}`);
    const s = d.sample || {};
    const body = el.querySelector("#ikm-body");
    fill(body,
      h("div", { class: "tiles ikm-head" },
        tile("value", t("ikm.value"), d.ikm === null ? "—" : fig.decimal(d.ikm, 2), d.grade_label || ""),
        tile("grade", t("ikm.grade"), d.grade || "—", d.grade_label || "", d.grade ? `ikm-grade ikm-grade-${d.grade}` : ""),
        tile("responses", t("ikm.responses"), fig.count(d.responses), "", s.enough ? "" : "tile-warn")),
      h("p", { class: `ikm-sample ${s.enough ? "" : "short"}`, id: "ikm-sample" },
        t("ikm.sample", { n: fig.count(s.responses), required: fig.count(s.required), population: fig.count(s.population) }),
        " ", t(s.enough ? "ikm.sample.enough" : "ikm.sample.short")),
      d.responses
        ? [
          h("p", { class: "ikm-lowest", id: "ikm-lowest", text: t("ikm.lowest", { list: (d.lowest || []).map(label).join(", ") }) }),
          h("div", { class: "chart-grid" },
            h("figure", { class: "chart-box card", id: "ikm-chart-box" }, h("figcaption", { text: t("ikm.chart") }),
              h("div", { class: "chart-canvas" }, h("canvas", { id: "ikm-chart", role: "img", "aria-label": t("ikm.chart") }))),
            h("div", { class: "card" }, h("div", { class: "table-wrap" }, h("table", { class: "table ikm-table", id: "ikm-table" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("ikm.col.element") }),
                h("th", { scope: "col", class: "num", text: t("ikm.col.nrr") }), h("th", { scope: "col", class: "num", text: t("ikm.col.ikm") }))),
              h("tbody", {}, KEYS.map((k) => h("tr", { class: low.has(k) ? "ikm-low" : null, dataset: { key: k } },
                h("td", { text: label(k) }), h("td", { class: "num", text: fig.decimal(d.elements[k].nrr, 2) }),
                h("td", { class: "num", text: fig.decimal(d.elements[k].ikm, 2) })))))))),
          h("div", { class: "sup-cols" },
            h("section", { class: "card" }, h("h3", { text: t("ikm.by_channel") }),
              figuresTable("ikm-channels", "ikm.col.channel", CHANNELS.filter((c) => d.by_channel[c].responses)
                .map((c) => [t(`sup.channel.${c}`), d.by_channel[c]]))),
            h("section", { class: "card" }, h("h3", { text: t("ikm.by_officer") }),
              figuresTable("ikm-officers", "ikm.col.officer", d.by_officer.map((o) => [o.officer.name || "—", o])))),
          d.suggestions && d.suggestions.length
            ? h("section", { class: "card", style: "margin-top:1rem" }, h("h3", { text: t("ikm.suggestions") }),
              h("ul", { class: "ikm-suggestions" }, d.suggestions.map((x) => h("li", { text: x.text }))))
            : null,
        ]
        : h("p", { class: "notice", id: "ikm-none", text: t("ikm.none") }),
      h("p", { class: "small muted", text: t("ikm.formula") }));
    return low;
  }

  function draw(Chart, d, low) {
    const canvas = el.querySelector("#ikm-chart");
    if (!canvas) return;
    const label = (k) => (d.labels && d.labels[k]) || t(`dash.ikm.${k}`);
    view.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: KEYS.map(label), datasets: [{ label: t("ikm.col.nrr"), data: KEYS.map((k) => d.elements[k].nrr),
        backgroundColor: KEYS.map((k) => (low.has(k) ? COLORS.low : COLORS.normal)) }] },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } }, scales: { x: { min: 1, max: 4 } } },
    });
    canvas.dataset.ready = "1";
  }

  async function load() {
    if (!allowed()) return;
    defaults();
    const run = ++view.run;
    if (view.chart) view.chart.destroy();
    view.chart = null;
    const officeName = view.office === "all" ? t("dash.office.all") : state.offices.get(view.office)?.name || view.office;
    fill(el,
      h("div", { class: "sup-head" }, h("h2", { id: "ikm-h", text: t("ikm.title") }),
        h("p", { class: "dash-period", text: t("dash.period", { office: officeName, from: view.from, to: view.to }) })),
      controls(),
      h("div", { id: "ikm-body", "aria-busy": "true" }, h("p", { class: "muted", text: t("kb.loading") })));
    let d;
    try {
      const q = new URLSearchParams({ office: view.office, from: view.from, to: view.to, lang: lang() });
      d = await api("GET", `/reports/ikm?${q}`);
    } catch (err) {
      if (run === view.run) fill(el.querySelector("#ikm-body"), h("p", { class: "error", role: "alert", text: errorText(err) }));
      return;
    }
    if (run !== view.run) return;
    view.data = d;
    const low = paint(d);
    el.querySelector("#ikm-body").removeAttribute("aria-busy");
    if (!d.responses) {
      el.dataset.ready = "1";
      return;
    }
    try {
      const Chart = await chartLib();
      if (run === view.run) draw(Chart, d, low);
    } catch {
      el.querySelector("#ikm-body").prepend(h("p", { class: "error", role: "alert", text: t("dash.charts.failed") }));
    }
    el.dataset.ready = "1";
  }

  return {
    name: "ikm",
    el,
    label: () => t("ikm.tab"),
    hash: () => "#ikm",
    allowed,
    matches: (hash) => hash === "#ikm",
    go: () => {},
    show: () => {
      el.hidden = false;
      if (!allowed()) fill(el, h("p", { class: "notice", text: t("sup.only") }));
      else if (!view.data) load();
    },
    hide: () => { el.hidden = true; },
    changed: () => {},
    onOffice: () => {
      if (national()) return; // national admins pick the office in the view's own form
      view.office = state.office;
      view.data = null;
      if (!el.hidden) load();
    },
    rebuild: () => { view.data = null; },
  };
}
