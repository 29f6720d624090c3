// The SKM survey (/survey): the nine elements of PermenPANRB 14/2017, one answer of four each, an optional
// profile and a suggestion. Opened from a link: ?consultation=<id>&token=<signed link> (the room, the rating
// e-mail, the rating page), ?ticket=<id>&t=<ticket token> (the ticket's phone page), or
// ?office=<code>&channel=walk_in (the kiosk, a visitor without a ticket; &kiosk=1 returns to the kiosk).
// The questions' wording comes from GET /surveys/skm in the page's language; phones first (360 px).
import { api, errorText, offices } from "../api.js";
import { $, fill, h } from "../dom.js";
import { lang, onLangChange, t } from "../i18n.js";
import { initLayout } from "../layout.js";

const params = new URLSearchParams(location.search);
const target = {
  consultation: params.get("consultation") || "",
  ticket: params.get("ticket") || "",
  token: params.get("t") || params.get("token") || "",
  office: params.get("office") || "",
  channel: params.get("channel") || "walk_in",
  kiosk: params.get("kiosk") === "1",
};
const KIOSK_RETURN_MS = 15000;
// What the visitor has chosen so far survives a language change (the form is drawn again).
const chosen = { answers: {}, profile: {}, suggestion: "" };
const view = { info: null, questionnaire: null, done: null };

function root() {
  return $("#skm");
}

function idsOk() {
  const ok = (v) => !v || /^[0-9a-f]{24}$/i.test(v);
  return ok(target.consultation) && ok(target.ticket);
}

async function loadInfo() {
  if (target.consultation || target.ticket) {
    const q = new URLSearchParams();
    if (target.consultation) q.set("consultation_id", target.consultation);
    if (target.ticket) q.set("ticket_id", target.ticket);
    if (target.token) q.set("token", target.token);
    return api("GET", `/surveys/skm/target?${q}`);
  }
  const office = (await offices()).find((o) => o.code === target.office);
  if (!office) return null;
  return { office: office.code, office_name: office.name, channel: target.channel, answered: false, number: null };
}

function heading() {
  const info = view.info || {};
  const about = info.number
    ? t(info.ticket_id ? "skm.about.ticket" : "skm.about.consultation", { number: info.number })
    : null;
  return [
    h("h1", { text: t("skm.title") }),
    h("p", { class: "skm-office", id: "skm-office" }, h("strong", { text: info.office_name || "" }),
      about ? h("span", { class: "muted", text: ` · ${about}` }) : null),
  ];
}

function question(e, i) {
  const name = `q-${e.key}`;
  return h("fieldset", { class: "skm-q", id: `skm-${e.key}`, dataset: { key: e.key } },
    h("legend", {},
      h("span", { class: "skm-n", text: t("skm.question", { n: i + 1 }) }),
      h("span", { class: "skm-label", text: e.label }),
      h("span", { class: "skm-text", text: e.question })),
    h("div", { class: "skm-answers" }, e.answers.map((a) => {
      const input = h("input", { type: "radio", name, value: String(a.value), id: `${name}-${a.value}`,
        checked: chosen.answers[e.key] === a.value,
        onchange: () => {
          chosen.answers[e.key] = a.value;
          $(`#skm-${e.key}`).classList.remove("missing");
        } });
      return h("label", { class: "skm-answer", for: `${name}-${a.value}` }, input,
        h("span", { class: "skm-score", text: String(a.value), "aria-hidden": "true" }),
        h("span", { class: "skm-word", text: a.label }));
    })));
}

function select(name, options, label) {
  const el = h("select", { name, id: `skm-${name}`, onchange: () => { chosen.profile[name] = el.value; } },
    h("option", { value: "", text: t("skm.choose") }),
    options.map((o) => h("option", { value: o.value, text: o.label })));
  el.value = chosen.profile[name] || "";
  return h("div", { class: "field" }, h("label", { for: el.id, text: label }), el);
}

function profile(p) {
  const age = h("input", { type: "number", name: "age", id: "skm-age", min: String(p.age.min), max: String(p.age.max),
    inputmode: "numeric", value: chosen.profile.age || "", oninput: () => { chosen.profile.age = age.value; } });
  const sex = h("fieldset", { class: "radios", id: "skm-sex" }, h("legend", { class: "sr-only", text: t("skm.sex") }),
    p.sex.map((o) => h("label", { class: "radio" },
      h("input", { type: "radio", name: "sex", value: o.value, checked: chosen.profile.sex === o.value,
        onchange: () => { chosen.profile.sex = o.value; } }), o.label)));
  return h("details", { class: "skm-profile", open: Object.values(chosen.profile).some(Boolean) || null },
    h("summary", { text: t("skm.profile") }),
    h("p", { class: "hint", text: t("skm.profile.hint") }),
    h("div", { class: "field" }, h("span", { class: "field-label", text: t("skm.sex") }), sex),
    h("div", { class: "field" }, h("label", { for: "skm-age", text: t("skm.age") }), age),
    select("education", p.education, t("skm.education")),
    select("occupation", p.occupation, t("skm.occupation")));
}

function body() {
  const answers = {};
  for (const e of view.questionnaire.elements) answers[e.key] = chosen.answers[e.key];
  const out = { office: view.info.office, channel: view.info.channel || target.channel, answers };
  if (view.info.consultation_id) out.consultation_id = view.info.consultation_id;
  if (view.info.ticket_id) out.ticket_id = view.info.ticket_id;
  if (target.token) out.token = target.token;
  const p = {};
  for (const k of ["sex", "education", "occupation"]) if (chosen.profile[k]) p[k] = chosen.profile[k];
  if (chosen.profile.age) p.age = Number(chosen.profile.age);
  if (Object.keys(p).length) out.profile = p;
  if (chosen.suggestion.trim()) out.suggestion = chosen.suggestion.trim();
  return out;
}

async function submit(ev) {
  ev.preventDefault();
  const status = $("#skm-status");
  const missing = view.questionnaire.elements.filter((e) => !chosen.answers[e.key]);
  for (const e of view.questionnaire.elements) $(`#skm-${e.key}`).classList.toggle("missing", !chosen.answers[e.key]);
  if (missing.length) {
    status.dataset.kind = "error";
    fill(status, t("skm.missing", { n: missing.length }));
    status.hidden = false;
    $(`#skm-${missing[0].key} input`).focus();
    return;
  }
  const btn = $("#skm-submit");
  btn.disabled = true;
  fill(btn, t("skm.sending"));
  try {
    await api("POST", "/surveys/skm/responses", body());
    thanks("skm.thanks.lead");
  } catch (err) {
    if (err.code === "already_answered") {
      thanks("skm.answered");
      return;
    }
    status.dataset.kind = "error";
    fill(status, errorText(err));
    status.hidden = false;
    btn.disabled = false;
    fill(btn, t("skm.submit"));
  }
}

function complaintLink() {
  const office = view.info && view.info.office;
  const q = new URLSearchParams();
  if (office) q.set("office", office);
  if (view.info && view.info.consultation_id) q.set("consultation", view.info.consultation_id);
  return h("p", { class: "skm-complaint" }, h("a", { href: `/complaints/new?${q}`, text: t("skm.complaint") }));
}

/** The end: thanks (`key`: the sentence under it), in the page's language; drawn again on a language change. */
function thanks(key) {
  const first = !view.done;
  view.done = key;
  fill(root(), ...heading(),
    h("div", { class: "skm-thanks", id: "skm-done", role: "status" },
      h("p", { class: "skm-thanks-big", text: t("skm.thanks") }), h("p", { text: t(key) })),
    target.kiosk ? h("a", { class: "btn primary big", href: `/kiosk?office=${encodeURIComponent(view.info.office)}`,
      text: t("skm.kiosk.again") }) : complaintLink());
  root().removeAttribute("aria-busy");
  if (!first) return;
  root().focus();
  if (target.kiosk) setTimeout(() => { location.href = `/kiosk?office=${encodeURIComponent(view.info.office)}`; }, KIOSK_RETURN_MS);
}

function form() {
  const q = view.questionnaire;
  const suggestion = h("textarea", { name: "suggestion", id: "skm-suggestion", rows: "3", maxlength: String(q.suggestion_max_chars),
    oninput: () => { chosen.suggestion = suggestion.value; } });
  suggestion.value = chosen.suggestion;
  fill(root(), ...heading(),
    h("p", { class: "skm-lead", text: t("skm.lead") }),
    h("form", { class: "form skm-form", id: "skm-form", novalidate: true, onsubmit: submit },
      q.elements.map(question),
      profile(q.profile),
      h("div", { class: "field" }, h("label", { for: "skm-suggestion", text: t("skm.suggestion") }), suggestion,
        h("small", { class: "hint", text: t("skm.suggestion.hint") })),
      h("p", { class: "form-status", id: "skm-status", role: "alert", hidden: true }),
      h("button", { type: "submit", class: "btn primary big skm-submit", id: "skm-submit", text: t("skm.submit") })));
  root().removeAttribute("aria-busy");
}

function problem(text) {
  fill(root(), h("h1", { text: t("skm.title") }), h("p", { class: "notice", role: "alert", id: "skm-problem", text }));
  root().removeAttribute("aria-busy");
}

async function draw() {
  if (view.done) {
    thanks(view.done);
    return;
  }
  view.questionnaire = await api("GET", `/surveys/skm?lang=${lang()}`);
  if (view.info.answered) thanks("skm.answered");
  else form();
}

async function start() {
  initLayout();
  if (!idsOk() || (!target.consultation && !target.ticket && !/^\d{4}$/.test(target.office))) {
    problem(t(target.consultation || target.ticket ? "skm.bad_link" : "skm.no_office"));
    return;
  }
  try {
    view.info = await loadInfo();
  } catch (err) {
    problem(err.status === 403 || err.status === 400 || err.status === 404 ? t("skm.bad_link") : errorText(err));
    return;
  }
  if (!view.info) {
    problem(t("skm.no_office"));
    return;
  }
  try {
    await draw();
  } catch (err) {
    problem(errorText(err));
  }
  onLangChange(() => { void draw().catch((err) => problem(errorText(err))); });
}

void start();
