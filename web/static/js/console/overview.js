// The supervisors' live overview (#overview): every open consultation of the office with its officer,
// age, the side it waits for, the officer's unread count and its SLA state now (breached and at risk
// first); each officer's load against the office's cap and whether they are connected; the queue's
// oldest wait; today's walk-in desk. National admins see every office in one line each and pick one.
// Live: the office's staff room (consultation:updated, room:activity, queue:updated, sla:alert) makes
// it reload, at most once per RELOAD_DELAY_MS; a slow timer catches presence and ages (and national
// admins, who sit in no office's room).
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import * as fig from "./figures.js";

const RELOAD_DELAY_MS = 400;
const REFRESH_MS = 30_000;
const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);

function slaLive(state) {
  if (!state || state === "none") return null;
  return h("span", { class: `badge sla sla-${state}`, text: t(`console.sla.${state}`) });
}

/** The overview view of the console `ui`; its element is `el`, shown when the hash is #overview. */
export function createOverview(ui) {
  const { state } = ui;
  const el = h("section", { class: "sup-view overview-view", id: "overview-view", hidden: true,
    "aria-labelledby": "overview-h" });
  const view = { data: null, national: null, timer: null, pending: null, loading: false, stale: true, at: null };

  const national = () => state.me && state.me.role === "admin" && !state.me.office;

  function allowed() {
    return Boolean(state.me && SUPERVISOR_ROLES.has(state.me.role));
  }

  async function load() {
    if (!state.office || view.loading) return;
    view.loading = true;
    try {
      const [data, nation] = await Promise.all([
        api("GET", `/offices/${encodeURIComponent(state.office)}/overview`),
        national() ? api("GET", "/overview") : Promise.resolve(null),
      ]);
      view.data = data;
      view.national = nation;
      view.stale = false;
      view.at = Date.now();
      paint();
    } catch (err) {
      fill(el, h("p", { class: "error", role: "alert", text: errorText(err) }));
    } finally {
      view.loading = false;
    }
  }

  /** Something changed in the office: reload soon (several events in a burst make one reload). */
  function changed(office) {
    if (office && office !== state.office) return;
    view.stale = true;
    if (el.hidden || view.pending) return;
    view.pending = setTimeout(() => {
      view.pending = null;
      load();
    }, RELOAD_DELAY_MS);
  }

  async function take(c, btn) {
    btn.disabled = true;
    try {
      await api("POST", `/consultations/${c.id}/take`);
      toast(t("sup.taken", { number: c.number || "" }), "ok");
      ui.panes.open(c.id);
    } catch (err) {
      toast(errorText(err), "error");
      btn.disabled = false;
    }
    load();
  }

  function tile(label, value, kind) {
    return h("div", { class: `tile${kind ? ` tile-${kind}` : ""}` },
      h("span", { class: "tile-value", text: String(value) }), h("span", { class: "tile-label", text: label }));
  }

  function row(c) {
    const tz = c.time_zone || view.data.office.time_zone;
    const mine = c.assigned_to && c.assigned_to.id === state.me.id;
    return h("tr", { class: `ov-row sla-row-${c.sla_live}`, dataset: { id: c.id } },
      h("td", {}, h("a", { href: `#c/${c.id}`, class: "c-number", text: c.number || "" }),
        h("div", { class: "small muted", text: c.subject || "" })),
      h("td", {}, h("div", { text: c.user?.name || "" }), h("div", { class: "small muted", text: t(`sup.channel.${c.channel}`) })),
      h("td", { class: "ov-officer", text: c.assigned_to ? c.assigned_to.name : t("status.queued") }),
      h("td", { title: fmt.shortDateTime(c.created_at, tz), text: fig.age(c.age_minutes) }),
      h("td", {}, h("span", { class: `wait wait-${c.waiting_side}`, text: t(`sup.waiting.${c.waiting_side}`) })),
      h("td", { class: "num", text: c.officer_unread ? String(c.officer_unread) : "" }),
      h("td", {}, slaLive(c.sla_live), c.sla?.due_at && !["met", "none"].includes(c.sla_live)
        ? h("div", { class: "small muted", text: fmt.shortDateTime(c.sla.due_at, tz) }) : null),
      h("td", { class: "ov-actions" },
        h("a", { class: "btn small ghost", href: `#c/${c.id}`, text: t("sup.view") }),
        mine ? null : h("button", { type: "button", class: "btn small take", text: t("sup.take"),
          "aria-label": `${t("sup.take")} ${c.number || ""}`, onclick: (ev) => take(c, ev.currentTarget) })));
  }

  function officersBlock(officers) {
    if (!officers.length) return h("p", { class: "muted", text: t("sup.officers.none") });
    return h("ul", { class: "ov-officers" }, officers.map((o) => {
      const pct = o.cap ? Math.min(100, Math.round((o.active / o.cap) * 100)) : 0;
      return h("li", { class: `ov-officer-item${o.over_cap ? " over" : ""}`, dataset: { id: o.id } },
        h("span", { class: `dot ${o.online ? "on" : "off"}`, title: t(o.online ? "sup.online" : "sup.offline"),
          "aria-label": t(o.online ? "sup.online" : "sup.offline") }),
        h("span", { class: "ov-officer-name", text: o.name }),
        h("span", { class: "load", "aria-label": t("sup.load", { n: o.active, cap: o.cap }) },
          h("span", { class: "load-bar", style: `width:${pct}%` })),
        h("span", { class: "small ov-load-text", text: t("sup.load", { n: o.active, cap: o.cap }) }),
        o.at_risk ? h("span", { class: "badge sla sla-at_risk", text: t("sup.officer.at_risk", { n: o.at_risk }) }) : null);
    }));
  }

  function walkInBlock(w) {
    return h("dl", { class: "ov-walkin" },
      ...[["sup.walkin.tickets", w.tickets], ["sup.walkin.waiting", w.waiting], ["sup.walkin.serving", w.called + w.serving],
        ["sup.walkin.done", w.done], ["sup.walkin.no_show", w.no_show],
        ["sup.walkin.kept", `${w.promise_kept} / ${w.promise_kept + w.promise_broken}`]]
        .map(([k, v]) => h("div", {}, h("dt", { text: t(k) }), h("dd", { text: String(v) }))));
  }

  function nationBlock(nation) {
    if (!nation) return null;
    return h("section", { class: "card ov-nation", "aria-labelledby": "ov-nation-h" },
      h("h3", { id: "ov-nation-h", text: t("sup.nation") }),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["sup.col.office", "sup.tile.open", "sup.tile.queued", "sup.tile.breached",
          "sup.tile.at_risk", "sup.tile.oldest", "sup.col.online"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, nation.offices.map((o) => h("tr", { class: o.code === state.office ? "is-current" : "" },
          h("td", {}, h("button", { type: "button", class: "link", text: o.name || o.code, onclick: () => pick(o.code) })),
          h("td", { class: "num", text: String(o.open) }), h("td", { class: "num", text: String(o.queued) }),
          h("td", { class: "num", text: String(o.breached) }), h("td", { class: "num", text: String(o.at_risk) }),
          h("td", { text: o.oldest_wait_minutes === null ? "—" : fig.age(o.oldest_wait_minutes) }),
          h("td", { class: "num", text: String(o.staff_online) }))))));
  }

  function pick(code) {
    state.office = code;
    const sel = document.getElementById("office-pick");
    if (sel) sel.value = code;
    ui.queue.load();
    load();
  }

  function paint() {
    const d = view.data;
    if (!d || el.hidden) return;
    const tot = d.totals;
    const rows = d.consultations;
    fill(el,
      h("div", { class: "sup-head" },
        h("h2", { id: "overview-h", text: t("sup.overview.title", { office: d.office.name || d.office.code }) }),
        h("p", { class: "muted small", id: "overview-updated", role: "status",
          text: t("sup.updated", { time: fmt.time(d.now, d.office.time_zone) }) })),
      h("div", { class: "tiles" },
        tile(t("sup.tile.open"), tot.open),
        tile(t("sup.tile.queued"), tot.queued),
        tile(t("sup.tile.breached"), tot.breached, tot.breached ? "bad" : null),
        tile(t("sup.tile.at_risk"), tot.at_risk, tot.at_risk ? "warn" : null),
        tile(t("sup.tile.waiting"), tot.waiting_for_officer),
        tile(t("sup.tile.oldest"), d.queue.oldest_wait_minutes === null ? "—" : fig.age(d.queue.oldest_wait_minutes))),
      nationBlock(view.national),
      h("div", { class: "sup-cols" },
        h("section", { class: "card", "aria-labelledby": "ov-list-h" },
          h("h3", { id: "ov-list-h", text: t("sup.open.title", { n: rows.length }) }),
          d.truncated ? h("p", { class: "notice small", text: t("sup.truncated") }) : null,
          rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "table ov-table", id: "overview-table" },
            h("thead", {}, h("tr", {}, ["sup.col.consultation", "sup.col.user", "sup.col.officer", "sup.col.age",
              "sup.col.waiting", "sup.col.unread", "sup.col.sla", "sup.col.actions"].map((k) => h("th", { scope: "col", text: t(k) })))),
            h("tbody", {}, rows.map(row))))
            : h("p", { class: "muted", text: t("sup.open.none") })),
        h("div", { class: "sup-side" },
          h("section", { class: "card", "aria-labelledby": "ov-officers-h" },
            h("h3", { id: "ov-officers-h", text: t("sup.officers") }), officersBlock(d.officers)),
          h("section", { class: "card", "aria-labelledby": "ov-walkin-h" },
            h("h3", { id: "ov-walkin-h", text: t("sup.walkin.title") }), walkInBlock(d.walk_in)))));
  }

  function show() {
    if (!allowed()) {
      fill(el, h("p", { class: "notice", text: t("sup.only") }));
      el.hidden = false;
      return;
    }
    el.hidden = false;
    if (view.data && view.data.office.code === state.office) paint();
    if (view.stale || !view.data || view.data.office.code !== state.office || Date.now() - (view.at || 0) > 5000) load();
    clearInterval(view.timer);
    view.timer = setInterval(load, REFRESH_MS);
  }

  function hide() {
    el.hidden = true;
    clearInterval(view.timer);
    view.timer = null;
  }

  return {
    name: "overview",
    el,
    label: () => t("sup.tab.overview"),
    hash: () => "#overview",
    allowed,
    matches: (hash) => hash === "#overview",
    go: () => {},
    show,
    hide,
    changed,
    onOffice: () => { if (!el.hidden) load(); else view.stale = true; },
    rebuild: paint,
  };
}
