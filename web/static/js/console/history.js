// The casebook (#history): every consultation of the office, closed ones too, searched by number,
// subject, the user's name or e-mail, the text of its messages, channel, status, officer and dates;
// and one consultation's own page (#c/<id>): its record (summary, working minutes, rating and survey,
// transfers), the transcript read-only, the user's previous consultations, and the actions to open
// (join) the room, take it (supervisors) or hand it to another officer.
import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { slaBadge } from "./badges.js";
import * as fig from "./figures.js";
import { OBJECT_ID, tzOf } from "./state.js";

const PAGE = 50;
const TRANSCRIPT_PAGE = 200;
const TRANSCRIPT_PAGES_MAX = 10;
const STATUSES = ["queued", "active", "closed"];
const CHANNELS = ["online", "walk_in", "whatsapp", "email"];
const SUPERVISOR_ROLES = new Set(["supervisor", "admin"]);
const RECORD_HASH = /^#c\/([a-f0-9]{24})$/i;

/** The id in a record address (#c/<id>), or null. */
export function recordId(hash) {
  const m = RECORD_HASH.exec(hash || "");
  return m ? m[1] : null;
}

/** The casebook view of the console `ui`. */
export function createHistory(ui) {
  const { state } = ui;
  const el = h("section", { class: "sup-view history-view", id: "history-view", hidden: true,
    "aria-labelledby": "history-h" });
  // The search form's values and the results so far, kept while the view is away (a record opened
  // from the results comes back to them).
  const view = { form: { q: "", status: "", channel: "", officer: "", from: "", to: "" }, results: null, more: false,
    scope: null, staff: null, staffOffice: null, mode: "search", id: null, searched: false };

  async function staffOf(office) {
    if (view.staff && view.staffOffice === office) return view.staff;
    try {
      const body = await api("GET", `/offices/${encodeURIComponent(office)}/staff`);
      view.staff = body.staff || [];
      view.staffOffice = office;
    } catch {
      view.staff = [];
    }
    return view.staff;
  }

  function query(offset) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(view.form)) if (v) p.set(k, v);
    if (state.office && !state.me.office) p.set("office", state.office);
    p.set("limit", String(PAGE));
    if (offset) p.set("offset", String(offset));
    return p.toString();
  }

  async function search(more = false) {
    const status = el.querySelector("#history-status");
    try {
      const out = await api("GET", `/history?${query(more ? view.results.length : 0)}`);
      view.results = more ? [...view.results, ...out.consultations] : out.consultations;
      view.more = out.more;
      view.scope = out.message_scope;
      view.searched = true;
      paintResults();
    } catch (err) {
      if (status) fill(status, h("span", { class: "error", text: errorText(err) }));
    }
  }

  function field(name, label, input) {
    input.name = name;
    input.id = `history-${name}`;
    input.value = view.form[name];
    input.addEventListener("change", () => { view.form[name] = input.value; });
    input.addEventListener("input", () => { view.form[name] = input.value; });
    return h("label", { class: "field", for: input.id }, h("span", { text: label }), input);
  }

  function options(values, prefix, all) {
    return [h("option", { value: "", text: all }), ...values.map((v) => h("option", { value: v, text: t(`${prefix}${v}`) }))];
  }

  async function paintSearch() {
    const officers = h("select", {}, h("option", { value: "", text: t("hist.any") }));
    const form = h("form", { class: "history-form", id: "history-form", role: "search" },
      field("q", t("hist.q"), h("input", { type: "search", maxlength: "100", placeholder: t("hist.q.placeholder") })),
      field("status", t("hist.status"), h("select", {}, options(STATUSES, "status.", t("hist.any")))),
      field("channel", t("hist.channel"), h("select", {}, options(CHANNELS, "sup.channel.", t("hist.any")))),
      field("officer", t("hist.officer"), officers),
      field("from", t("hist.from"), h("input", { type: "date" })),
      field("to", t("hist.to"), h("input", { type: "date" })),
      h("div", { class: "row history-buttons" },
        h("button", { type: "submit", class: "btn primary", text: t("hist.search") }),
        h("button", { type: "button", class: "btn ghost", text: t("hist.clear"), onclick: () => {
          for (const k of Object.keys(view.form)) view.form[k] = "";
          paintSearch();
          search();
        } })));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      search();
    });
    fill(el,
      h("div", { class: "sup-head" }, h("h2", { id: "history-h", text: t("hist.title") })),
      form,
      h("p", { class: "muted small", id: "history-status", role: "status" }),
      h("div", { id: "history-results" }));
    if (view.results) paintResults();
    const list = await staffOf(state.office);
    officers.append(...list.map((s) => h("option", { value: s.id, text: s.name })));
    officers.value = view.form.officer;
  }

  function paintResults() {
    const box = el.querySelector("#history-results");
    const status = el.querySelector("#history-status");
    if (!box || !view.results) return;
    const n = view.results.length;
    const scope = view.scope && view.form.q && !view.scope.complete ? ` ${t("hist.scope", { n: view.scope.rooms })}` : "";
    if (status) fill(status, (n ? t("hist.found", { n: `${n}${view.more ? "+" : ""}` }) : t("hist.none")) + scope);
    if (!n) {
      fill(box);
      return;
    }
    fill(box, h("div", { class: "table-wrap" }, h("table", { class: "table history-table", id: "history-table" },
      h("thead", {}, h("tr", {}, ["sup.col.consultation", "sup.col.user", "sup.col.officer", "hist.col.status",
        "hist.col.created", "hist.col.rating"].map((k) => h("th", { scope: "col", text: t(k) })))),
      h("tbody", {}, view.results.map((c) => h("tr", { dataset: { id: c.id } },
        h("td", {}, h("a", { href: `#c/${c.id}`, class: "c-number", text: c.number || "" }),
          h("div", { class: "small", text: c.subject || "" })),
        h("td", {}, h("div", { text: c.user?.name || "" }), h("div", { class: "small muted", text: c.user?.email || "" })),
        h("td", { text: c.assigned_to ? c.assigned_to.name : "—" }),
        h("td", {}, h("span", { class: `badge status-${c.status}`, text: t(`status.${c.status}`) }),
          h("div", { class: "small muted", text: t(`sup.channel.${c.channel}`) })),
        h("td", { text: fmt.shortDateTime(c.created_at, tzOf(state, c)) }),
        h("td", { text: c.rating ? "★".repeat(c.rating.score) : "" })))))),
    view.more ? h("button", { type: "button", class: "btn ghost", id: "history-more", text: t("hist.more"),
      onclick: () => search(true) }) : null);
  }

  // --- one consultation's page ---------------------------------------------------------------------

  async function transcript(id) {
    const out = [];
    let after = 0;
    for (let i = 0; i < TRANSCRIPT_PAGES_MAX; i += 1) {
      const body = await api("GET", `/consultations/${id}/messages?after_seq=${after}&limit=${TRANSCRIPT_PAGE}`);
      const page = body.messages || [];
      out.push(...page);
      if (page.length < TRANSCRIPT_PAGE) break;
      after = page[page.length - 1].seq;
    }
    return out;
  }

  function messageItem(m, tz) {
    const kind = m.kind === "note" ? "note" : m.author?.role === "system" ? "system" : m.author?.role === "user" ? "user" : "staff";
    return h("li", { class: `rec-msg rec-${kind}` },
      h("div", { class: "rec-msg-head small muted" },
        h("strong", { text: m.author?.name || "" }), ` · ${fmt.shortDateTime(m.created_at, tz)}`,
        m.kind === "note" ? ` · ${t("room.note")}` : ""),
      h("div", { class: "rec-msg-text", text: m.attachment ? `📎 ${m.attachment.filename || ""} ${m.text || ""}` : m.text || "" }));
  }

  async function reassign(c, select, btn) {
    if (!select.value) return;
    btn.disabled = true;
    try {
      await api("POST", `/consultations/${c.id}/transfer`, { to_user: select.value });
      toast(t("hist.reassigned"), "ok");
    } catch (err) {
      toast(errorText(err), "error");
    }
    btn.disabled = false;
    openRecord(c.id);
  }

  async function take(c, btn) {
    btn.disabled = true;
    try {
      await api("POST", `/consultations/${c.id}/take`);
      toast(t("sup.taken", { number: c.number || "" }), "ok");
      openRecord(c.id);
    } catch (err) {
      toast(errorText(err), "error");
      btn.disabled = false;
    }
  }

  function surveyBlock(survey) {
    if (!survey) return h("p", { class: "muted small", id: "record-survey", text: t("hist.survey.none") });
    const answers = survey.answers || {};
    return h("div", { id: "record-survey" },
      survey.ikm !== undefined && survey.ikm !== null ? h("p", { text: t("hist.survey.ikm", { ikm: fig.decimal(survey.ikm, 2) }) }) : null,
      h("dl", { class: "rec-survey" }, Object.entries(answers).map(([k, v]) =>
        h("div", {}, h("dt", { text: t(`skm.${k}`) === `skm.${k}` ? k : t(`skm.${k}`) }), h("dd", { text: String(v) })))),
      survey.suggestion ? h("p", { class: "small", text: survey.suggestion }) : null);
  }

  async function openRecord(id) {
    view.mode = "record";
    view.id = id;
    fill(el, h("p", { class: "muted", text: t("kb.loading") }));
    let rec;
    let msgs;
    try {
      [rec, msgs] = await Promise.all([api("GET", `/consultations/${id}/record`), transcript(id)]);
    } catch (err) {
      fill(el, h("p", { class: "error", role: "alert", text: errorText(err) }),
        h("a", { class: "btn ghost", href: "#history", text: t("hist.back") }));
      return;
    }
    if (view.id !== id || el.hidden) return;
    const c = rec.consultation;
    const tz = tzOf(state, c);
    const supervisor = SUPERVISOR_ROLES.has(state.me.role);
    const closed = c.status === "closed";
    const mine = c.assigned_to && c.assigned_to.id === state.me.id;
    const staffSel = h("select", { id: "record-reassign", "aria-label": t("hist.reassign.to") },
      h("option", { value: "", text: t("hist.reassign.to") }));
    const reassignBtn = h("button", { type: "button", class: "btn small", text: t("hist.reassign") });
    reassignBtn.addEventListener("click", () => reassign(c, staffSel, reassignBtn));
    const dl = (pairs) => h("dl", { class: "rec-facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => h("div", {}, h("dt", { text: t(k) }), h("dd", {}, v))));
    fill(el,
      h("div", { class: "sup-head" },
        h("a", { class: "btn ghost small", href: "#history", text: `← ${t("hist.back")}` }),
        h("h2", { id: "history-h" }, h("span", { class: "c-number", text: c.number || "" }), " ", c.subject || "")),
      h("p", { class: "room-sub" },
        h("span", { class: `badge status-${c.status}`, text: t(`status.${c.status}`) }), " ", slaBadge(c, tz), " ",
        h("span", { class: "muted", text: `${t(`sup.channel.${c.channel}`)} · ${c.topic ? t(`topic.${c.topic}`) : ""}` })),
      h("div", { class: "row rec-actions" },
        closed ? null : h("button", { type: "button", class: "btn primary small", id: "record-open", text: t("hist.open.room"),
          onclick: () => ui.panes.open(c.id) }),
        supervisor && !closed && !mine ? h("button", { type: "button", class: "btn small take", id: "record-take",
          text: t("sup.take"), onclick: (ev) => take(c, ev.currentTarget) }) : null,
        closed ? null : h("span", { class: "row" }, staffSel, reassignBtn),
        h("a", { class: "btn small ghost", href: `/api/v1/consultations/${encodeURIComponent(c.id)}/transcript`,
          target: "_blank", rel: "noopener noreferrer", text: t("room.transcript") })),
      h("div", { class: "sup-cols" },
        h("section", { class: "card", "aria-labelledby": "rec-msgs-h" },
          h("h3", { id: "rec-msgs-h", text: t("hist.transcript") }),
          h("ol", { class: "rec-msgs", id: "record-messages" }, msgs.map((m) => messageItem(m, tz)))),
        h("div", { class: "sup-side" },
          h("section", { class: "card", "aria-labelledby": "rec-facts-h" },
            h("h3", { id: "rec-facts-h", text: t("hist.facts") }),
            dl([
              ["sup.col.user", [c.user?.name, c.user?.email].filter(Boolean).join(" · ")],
              ["sup.col.officer", c.assigned_to ? c.assigned_to.name : "—"],
              ["hist.col.created", fmt.shortDateTime(c.created_at, tz)],
              ["hist.first_response", c.first_response_at ? `${fmt.shortDateTime(c.first_response_at, tz)} (${fig.minutes(rec.durations.first_response_wmin)})` : null],
              ["hist.closed", c.closed_at ? `${fmt.shortDateTime(c.closed_at, tz)} (${fig.minutes(rec.durations.resolution_wmin)})` : null],
              ["hist.summary", rec.summary],
            ])),
          h("section", { class: "card", "aria-labelledby": "rec-rating-h" },
            h("h3", { id: "rec-rating-h", text: t("hist.rating") }),
            rec.rating ? h("p", { id: "record-rating" }, h("span", { class: "stars", text: "★".repeat(rec.rating.score) + "☆".repeat(5 - rec.rating.score) }),
              ` ${rec.rating.score}/5`, rec.rating.comment ? h("span", { class: "rec-comment", text: ` — ${rec.rating.comment}` }) : null)
              : h("p", { class: "muted small", id: "record-rating", text: t("hist.rating.none") }),
            h("h4", { text: t("hist.survey") }), surveyBlock(rec.survey)),
          h("section", { class: "card", "aria-labelledby": "rec-prev-h" },
            h("h3", { id: "rec-prev-h", text: t("hist.previous") }),
            rec.previous.length ? h("ul", { class: "plain rec-previous", id: "record-previous" }, rec.previous.map((p) =>
              h("li", {}, h("a", { href: `#c/${p.id}`, class: "c-number", text: p.number || "" }), " ",
                h("span", { text: p.subject || "" }), " ",
                h("span", { class: `badge status-${p.status}`, text: t(`status.${p.status}`) }),
                h("div", { class: "small muted", text: fmt.shortDateTime(p.created_at, tzOf(state, p)) }))))
              : h("p", { class: "muted small", id: "record-previous", text: t("hist.previous.none") })))));
    if (!closed) {
      const list = await staffOf(c.office);
      staffSel.append(...list.filter((s) => !c.assigned_to || s.id !== c.assigned_to.id)
        .map((s) => h("option", { value: s.id, text: `${s.name}${s.online ? " •" : ""}` })));
    }
  }

  function go(hash) {
    const id = recordId(hash);
    if (id && OBJECT_ID.test(id)) {
      openRecord(id);
      return;
    }
    view.mode = "search";
    view.id = null;
    paintSearch();
    if (!view.searched) search();
  }

  return {
    name: "history",
    el,
    label: () => t("hist.tab"),
    hash: () => (view.mode === "record" && view.id ? `#c/${view.id}` : "#history"),
    allowed: () => Boolean(state.me),
    matches: (hash) => hash === "#history" || Boolean(recordId(hash)),
    go,
    show: () => { el.hidden = false; },
    hide: () => { el.hidden = true; },
    changed: () => {},
    onOffice: () => {
      view.results = null;
      view.searched = false;
      view.form.officer = "";
      if (!el.hidden && view.mode === "search") go("#history");
    },
    rebuild: () => { if (!el.hidden) go(view.mode === "record" && view.id ? `#c/${view.id}` : "#history"); },
  };
}
