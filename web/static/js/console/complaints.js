// The complaints (#complaints) for supervisors and admins: the office's cases newest first with their
// deadline state, a case's own page (#complaints/<id>: the text, the complainant, internal notes, the
// history, the assignee, start / answer / reject), recording a complaint received outside the app, and
// the follow-ups of low ratings. The socket's complaint:alert (main.js) reloads it and shows a toast.
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { DEFAULT_TZ, OBJECT_ID } from "./state.js";

const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
const FILTERS = ["open", "", "received", "in_progress", "resolved", "rejected"];
const STAFF_SOURCES = ["walk_in", "whatsapp", "email", "phone", "letter", "suggestion_box"];
const CASE_HASH = /^#complaints\/([a-f0-9]{24})$/i;

/** The complaints view of the console `ui`. */
export function createComplaints(ui) {
  const { state } = ui;
  const el = h("section", { class: "sup-view complaints-view", id: "complaints-view", hidden: true,
    "aria-labelledby": "complaints-h" });
  const view = { status: "open", mode: "list", id: null, list: null, followups: null, run: 0, stale: true, lastGo: null };

  const allowed = () => Boolean(state.me && SUPERVISOR_ROLES.has(state.me.role));
  const office = () => state.office || state.me.office || "";
  const tz = (c) => (c && c.time_zone) || state.offices.get(office())?.time_zone || DEFAULT_TZ;

  function statusBadge(status) {
    return h("span", { class: `badge cc-status cc-status-${status}`, text: t(`cc.status.${status}`) });
  }

  function stateTag(c) {
    if (!c.state || c.state === "on_track") return null;
    return h("span", { class: `cc-state cc-state-${c.state}`, text: t(`cc.state.${c.state}`) });
  }

  // --- the list ------------------------------------------------------------------------------------

  function filters() {
    return h("div", { class: "cc-filters", role: "group", "aria-label": t("cc.col.status") },
      FILTERS.map((f) => h("button", { type: "button", class: "btn small", "aria-pressed": String(view.status === f),
        dataset: { status: f }, text: f ? t(`cc.status.${f}`) : t("cc.status.all"),
        onclick: () => { view.status = f; loadList(); } })));
  }

  function row(c) {
    return h("tr", { class: c.state ? `cc-${c.state}` : null, dataset: { id: c.id } },
      h("td", { class: "c-number" }, h("a", { href: `#complaints/${c.id}`, text: c.number })),
      h("td", { text: fmt.shortDateTime(c.created_at, tz(c)) }),
      h("td", { text: c.name || t("cc.anonymous") }),
      h("td", { text: t(`cc.source.${c.source}`) }),
      h("td", {}, statusBadge(c.status)),
      h("td", {}, c.status === "resolved" || c.status === "rejected" ? null : h("span", { text: fmt.shortDateTime(c.due_at, tz(c)) }),
        " ", stateTag(c)),
      h("td", { text: c.assigned_to ? c.assigned_to.name : "—" }));
  }

  function paintList() {
    const box = el.querySelector("#cc-list");
    if (!box || !view.list) return;
    const rows = view.list.complaints;
    const counts = view.list.counts || {};
    fill(el.querySelector("#cc-counts"), ["received", "in_progress", "resolved", "rejected"]
      .map((s) => `${t(`cc.status.${s}`)} ${counts[s] || 0}`).join(" · "));
    if (!rows.length) {
      fill(box, h("p", { class: "muted", id: "cc-none", text: t("cc.none") }));
      return;
    }
    fill(box, h("div", { class: "table-wrap" }, h("table", { class: "table cc-table", id: "cc-table" },
      h("thead", {}, h("tr", {}, ["cc.col.number", "cc.col.received", "cc.col.from", "cc.col.source", "cc.col.status",
        "cc.col.due", "cc.col.assignee"].map((k) => h("th", { scope: "col", text: t(k) })))),
      h("tbody", {}, rows.map(row)))));
  }

  function paintFollowups() {
    const box = el.querySelector("#cc-followups");
    if (!box || !view.followups) return;
    const items = view.followups;
    fill(box,
      h("h3", { id: "cc-followups-h", text: t("cc.followups") }),
      h("p", { class: "small muted", text: t("cc.followups.lead") }),
      items.length
        ? h("ul", { class: "cc-followups", "aria-labelledby": "cc-followups-h" }, items.map((f) => {
          const note = h("input", { type: "text", maxlength: "2000", "aria-label": t("cc.followup.note"),
            placeholder: t("cc.followup.note") });
          return h("li", { dataset: { id: f.id } },
            h("div", { class: "row" },
              h("a", { href: `#c/${f.consultation_id}`, text: f.consultation_number || "—" }),
              h("span", { class: "stars", text: `${"★".repeat(f.score)}${"☆".repeat(5 - f.score)}` }),
              h("span", { class: "small", text: t("cc.followup.score", { score: f.score }) }),
              f.officer ? h("span", { class: "small muted", text: f.officer.name }) : null),
            f.comment ? h("p", { class: "small", text: `“${f.comment}”` }) : null,
            f.status === "done"
              ? h("p", { class: "small muted", text: t("cc.followup.closed", { note: f.note || "" }) })
              : h("form", { class: "row", onsubmit: async (ev) => {
                ev.preventDefault();
                try {
                  await api("POST", `/followups/${f.id}/done`, { note: note.value });
                  toast(t("cc.saved"));
                  loadList();
                } catch (err) {
                  toast(errorText(err), "error");
                }
              } }, note, h("button", { type: "submit", class: "btn small", text: t("cc.followup.done") })));
        }))
        : h("p", { class: "muted small", text: t("cc.followups.none") }));
  }

  function newComplaintForm() {
    const source = h("select", { name: "source", id: "cc-new-source" },
      STAFF_SOURCES.map((s) => h("option", { value: s, text: t(`cc.source.${s}`) })));
    const text = h("textarea", { name: "text", id: "cc-new-text", rows: "4", maxlength: "5000", required: true });
    const name = h("input", { type: "text", name: "name", id: "cc-new-name", maxlength: "120" });
    const email = h("input", { type: "email", name: "email", id: "cc-new-email", maxlength: "254" });
    const phone = h("input", { type: "tel", name: "phone", id: "cc-new-phone", maxlength: "40" });
    const status = h("p", { class: "form-status", role: "alert", hidden: true });
    const lab = (input, key) => h("div", { class: "field" }, h("label", { for: input.id, text: t(key) }), input);
    const form = h("form", { class: "form card", id: "cc-new-form", hidden: true },
      h("h3", { text: t("cc.new.title") }),
      lab(source, "cc.new.source"), lab(text, "cc.text"), lab(name, "cmp.name"), lab(email, "cmp.email"),
      lab(phone, "cmp.phone"), status,
      h("div", { class: "row" }, h("button", { type: "submit", class: "btn primary", text: t("cc.new") })));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { office: office(), source: source.value, text: text.value };
      for (const [k, input] of [["name", name], ["email", email], ["phone", phone]]) if (input.value.trim()) body[k] = input.value.trim();
      try {
        const out = await api("POST", "/complaints", body);
        toast(t("cc.new.saved", { number: out.complaint.number }));
        form.hidden = true;
        form.reset();
        loadList();
      } catch (err) {
        status.dataset.kind = "error";
        fill(status, errorText(err));
        status.hidden = false;
      }
    });
    return form;
  }

  function paintListFrame() {
    const form = newComplaintForm();
    fill(el,
      h("div", { class: "sup-head" },
        h("h2", { id: "complaints-h", text: t("cc.title") }),
        h("p", { class: "small muted", id: "cc-counts" }),
        h("button", { type: "button", class: "btn small", id: "cc-new", text: t("cc.new"),
          onclick: () => { form.hidden = !form.hidden; if (!form.hidden) form.querySelector("textarea").focus(); } })),
      form,
      filters(),
      h("div", { id: "cc-list", "aria-live": "polite" }, h("p", { class: "muted", text: t("kb.loading") })),
      h("section", { class: "card", id: "cc-followups", style: "margin-top:1rem" }));
  }

  async function loadList() {
    const run = ++view.run;
    view.mode = "list";
    view.id = null;
    view.stale = false;
    paintListFrame();
    const q = new URLSearchParams();
    if (office()) q.set("office", office());
    if (view.status) q.set("status", view.status);
    try {
      const [list, fus] = await Promise.all([
        api("GET", `/complaints?${q}`),
        api("GET", `/followups?office=${encodeURIComponent(office())}`),
      ]);
      if (run !== view.run) return;
      view.list = list;
      view.followups = fus.followups;
      paintList();
      paintFollowups();
    } catch (err) {
      if (run === view.run) fill(el.querySelector("#cc-list"), h("p", { class: "error", role: "alert", text: errorText(err) }));
    }
  }

  // --- one case ------------------------------------------------------------------------------------

  function historyLine(c, x) {
    let text = t(`cc.history.${x.action}`, {
      from: x.from ? t(`cc.status.${x.from}`) : "", to: x.action === "status" ? t(`cc.status.${x.to}`) : x.to || "—",
    });
    if (x.action === "received") text = t("cc.history.received");
    return h("li", {}, h("time", { datetime: x.at, text: fmt.shortDateTime(x.at, tz(c)) }), " ", text,
      x.by ? h("span", { class: "muted", text: ` — ${x.by.name}` }) : null);
  }

  async function act(path, body, after) {
    try {
      const out = await api("POST", `/complaints/${view.id}/${path}`, body);
      toast(t("cc.saved"));
      paintCase(out.complaint);
      if (after) after();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  async function assignBox(c) {
    const sel = h("select", { id: "cc-assignee", "aria-label": t("cc.assign") },
      h("option", { value: "", text: t("cc.assign.none") }));
    const box = h("div", { class: "row" }, sel,
      h("button", { type: "button", class: "btn small", id: "cc-assign", text: t("cc.assign.save"),
        onclick: () => act("assign", { user_id: sel.value || null }) }));
    try {
      const out = await api("GET", `/complaints/assignees?office=${encodeURIComponent(c.office)}`);
      sel.append(...out.assignees.map((a) => h("option", { value: a.id, text: a.name })));
      sel.value = c.assigned_to ? c.assigned_to.id : "";
    } catch {
      // the list of names is missing; the case still shows
    }
    return box;
  }

  function answerForm(c) {
    const response = h("textarea", { id: "cc-response", rows: "5", maxlength: "5000" });
    return h("div", { class: "form", id: "cc-answer" },
      c.status === "received"
        ? h("div", { class: "row" }, h("button", { type: "button", class: "btn", id: "cc-start", text: t("cc.start"),
          onclick: () => act("status", { status: "in_progress" }) }))
        : null,
      h("div", { class: "field" }, h("label", { for: "cc-response", text: t("cc.response") }), response),
      h("div", { class: "row" },
        h("button", { type: "button", class: "btn primary", id: "cc-resolve", text: t("cc.resolve"),
          onclick: () => act("status", { status: "resolved", response: response.value }) }),
        h("button", { type: "button", class: "btn danger-ghost", id: "cc-reject", text: t("cc.reject"),
          onclick: () => act("status", { status: "rejected", response: response.value }) })));
  }

  async function paintCase(c) {
    const open = c.status === "received" || c.status === "in_progress";
    const note = h("textarea", { id: "cc-note", rows: "2", maxlength: "2000", "aria-describedby": "cc-notes-hint" });
    const assign = open ? await assignBox(c) : null;
    fill(el,
      h("p", {}, h("a", { href: "#complaints", id: "cc-back", text: t("cc.back") })),
      h("div", { class: "sup-head" },
        h("h2", { id: "complaints-h", text: c.number }),
        statusBadge(c.status), stateTag(c),
        h("p", { class: "small muted", text: `${t(`cc.source.${c.source}`)} · ${fmt.dateTime(c.created_at, tz(c))}` })),
      h("div", { class: "cc-case" },
        h("div", { class: "card" },
          h("h3", { text: t("cc.text") }),
          h("p", { class: "cc-text", id: "cc-text", text: c.text }),
          h("dl", { class: "rec-facts" },
            h("div", {}, h("dt", { text: t("cc.contact") }),
              h("dd", { text: [c.name || t("cc.anonymous"), c.email, c.phone].filter(Boolean).join(" · ") })),
            c.consultation_id ? h("div", {}, h("dt", { text: t("cc.consultation") }),
              h("dd", {}, h("a", { href: `#c/${c.consultation_id}`, text: c.consultation_number || c.consultation_id }))) : null,
            c.ticket_number ? h("div", {}, h("dt", { text: t("cc.ticket") }), h("dd", { text: c.ticket_number })) : null,
            h("div", {}, h("dt", { text: t("cc.col.due") }), h("dd", { id: "cc-due", text: c.due_at ? fmt.dateTime(c.due_at, tz(c)) : "—" })),
            open ? h("div", {}, h("dt", { text: t("cc.assign") }), h("dd", {}, assign)) : null),
          open ? answerForm(c) : h("div", { id: "cc-answered" },
            h("h3", { text: t("cc.response.sent") }),
            h("p", { class: "cc-text", text: c.response || "—" }),
            c.late ? h("p", { class: "error small", text: t("cc.late") }) : null)),
        h("div", { class: "sup-side" },
          h("section", { class: "card", "aria-labelledby": "cc-notes-h" },
            h("h3", { id: "cc-notes-h", text: t("cc.notes") }),
            h("p", { class: "hint", id: "cc-notes-hint", text: t("cc.notes.hint") }),
            h("ul", { class: "cc-notes", id: "cc-notes" }, c.notes.map((n) => h("li", {},
              h("p", { class: "rec-msg-text", text: n.text }),
              h("span", { class: "small muted", text: `${n.by.name || ""} · ${fmt.shortDateTime(n.at, tz(c))}` })))),
            h("form", { class: "form", onsubmit: (ev) => {
              ev.preventDefault();
              act("notes", { text: note.value });
            } }, note, h("button", { type: "submit", class: "btn small", id: "cc-note-add", text: t("cc.note.add") }))),
          h("section", { class: "card", "aria-labelledby": "cc-history-h" },
            h("h3", { id: "cc-history-h", text: t("cc.history") }),
            h("ul", { class: "cc-history", id: "cc-history" }, c.history.map((x) => historyLine(c, x)))))));
    el.dataset.ready = "1";
  }

  async function openCase(id) {
    const run = ++view.run;
    view.mode = "case";
    view.id = id;
    view.stale = false;
    fill(el, h("p", { class: "muted", text: t("kb.loading") }));
    try {
      const out = await api("GET", `/complaints/${id}`);
      if (run === view.run) await paintCase(out.complaint);
    } catch (err) {
      if (run === view.run) fill(el, h("p", {}, h("a", { href: "#complaints", text: t("cc.back") })),
        h("p", { class: "error", role: "alert", text: errorText(err) }));
    }
  }

  function go(hash) {
    if (!allowed()) return;
    // Showing the view and routing to it both come here when the console opens on #complaints: once is enough.
    const now = Date.now();
    if (view.lastGo && view.lastGo.hash === hash && now - view.lastGo.at < 1000) return;
    view.lastGo = { hash, at: now };
    const m = CASE_HASH.exec(hash || "");
    if (m && OBJECT_ID.test(m[1])) openCase(m[1]);
    else loadList();
  }

  /** A complaint:alert from the office's staff room. */
  function onAlert(p) {
    if (!p || !allowed() || (state.me.office && p.office !== state.me.office)) return;
    const key = p.kind === "followup" ? "cc.alert.followup" : `cc.alert.${p.state}`;
    toast(t(key, { number: p.number || "" }), p.state === "overdue" ? "error" : "info");
    if (el.hidden) view.stale = true;
    else if (view.mode === "list") loadList();
    else if (view.id === p.id) openCase(p.id);
  }

  return {
    name: "complaints",
    el,
    label: () => t("cc.tab"),
    hash: () => (view.mode === "case" && view.id ? `#complaints/${view.id}` : "#complaints"),
    allowed,
    matches: (hash) => hash === "#complaints" || CASE_HASH.test(hash || ""),
    go,
    show: () => {
      el.hidden = false;
      if (!allowed()) fill(el, h("p", { class: "notice", text: t("sup.only") }));
      else if (view.stale) go(location.hash);
    },
    hide: () => { el.hidden = true; },
    changed: () => {},
    onOffice: () => {
      view.stale = true;
      if (!el.hidden) loadList();
    },
    rebuild: () => {
      view.stale = true;
      view.lastGo = null;
    },
    onAlert,
  };
}
