// The officer's dialogs on a room: close (an outcome and a summary), transfer (to a colleague or an office),
// escalate (an online meeting or a visit) and the consultation's info with its delivery log.
import { api, errorText } from "../api.js";
import { externalLink, field, fill, h, modal, say } from "../dom.js";
import * as fmt from "../fmt.js";
import { has, t } from "../i18n.js";
import * as kb from "../kb.js";
import { toast } from "../layout.js";
import { cancelVisit, pickVisit } from "../visit.js";
import { tzOf } from "./state.js";

// How an officer files the outcome at close (server.domain.models.CLOSE_CATEGORIES).
const CLOSE_CATEGORIES = ["answered", "referred", "data_unavailable", "duplicate", "no_response"];

/** Our words for a code of the delivery log (`prefix`.`code`), or the code itself when it is new to us. */
function words(prefix, code) {
  return has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : String(code || "");
}

/** A modal form; `action(form)` runs on submit, and the dialog closes unless it throws or answers false. */
function dialogForm(title, fields, submitLabel, action, { wide = false } = {}) {
  const status = h("p", { class: "form-status", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "btn primary", text: submitLabel });
  const cancel = h("button", { type: "button", class: "btn", text: t("console.cancel") });
  const form = h("form", { class: "form" }, fields, status, h("div", { class: "actions" }, cancel, submit));
  const dlg = modal(title, form, { wide });
  cancel.addEventListener("click", () => dlg.close());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    say(status, "");
    submit.disabled = true;
    try {
      const done = await action(form);
      if (done !== false) dlg.close();
    } catch (err) {
      say(status, errorText(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  return { dlg, form, status };
}

/** The dialogs of the screen `ui`; each takes the ChatRoom it acts on. */
export function createDialogs(ui) {
  const { state } = ui;
  let providersAsked = null; // the promise of GET /meetings/providers

  function close(room) {
    const summary = h("textarea", { name: "summary", rows: "4", maxlength: "4000" });
    const radio = (value) => h("label", { class: "radio" },
      h("input", { type: "radio", name: "category", value, required: true }), " ", t(`close.category.${value}`));
    const categories = h("fieldset", { class: "radios close-category", "aria-describedby": "close-category-hint" },
      h("legend", { text: t("console.close.category") }),
      CLOSE_CATEGORIES.map(radio),
      h("small", { id: "close-category-hint", class: "hint", text: t("console.close.category.hint") }));
    dialogForm(t("console.close.title"), [
      categories,
      field(t("console.close.summary"), summary, t("console.close.summary.hint")),
    ], t("console.close.submit"), async (form) => {
      const body = { category: form.elements.category.value };
      if (summary.value.trim()) body.summary = summary.value.trim();
      const c = await api("POST", `/consultations/${room.id}/close`, body);
      room.setConsultation(c);
      ui.mine.upsert(c);
    });
  }

  async function transfer(room) {
    const c = room.c || {};
    const kind = (value, label, checked) => h("label", { class: "radio" },
      h("input", { type: "radio", name: "kind", value, checked }), " ", label);
    const officer = h("select", { name: "to_user" });
    const target = h("select", { name: "to_office" },
      [...state.offices.values()].filter((o) => o.code !== c.office).map((o) => h("option", { value: o.code, text: o.name })));
    const officerField = field(t("console.transfer.officer.pick"), officer);
    const officeField = field(t("console.transfer.office.pick"), target);
    officeField.hidden = true;
    const { form } = dialogForm(t("console.transfer.title"), [
      h("fieldset", { class: "radios" }, h("legend", { class: "sr-only", text: t("console.transfer.title") }),
        kind("officer", t("console.transfer.officer"), true), kind("office", t("console.transfer.office"), false)),
      officerField, officeField,
    ], t("console.transfer.submit"), async (f) => {
      const toOffice = f.elements.kind.value === "office";
      const body = toOffice ? { to_office: target.value } : { to_user: officer.value };
      if (!body.to_office && !body.to_user) throw new Error(t("err.validation"));
      await api("POST", `/consultations/${room.id}/transfer`, body);
      toast(t("console.transfer.title"));
      ui.panes.close(room.id);
    });
    form.addEventListener("change", () => {
      const toOffice = form.elements.kind.value === "office";
      officerField.hidden = toOffice;
      officeField.hidden = !toOffice;
    });
    try {
      const body = await api("GET", `/offices/${encodeURIComponent(c.office || state.office)}/staff`);
      const others = (body.staff || []).filter((s) => s.id !== state.me.id);
      if (!others.length) officer.append(h("option", { value: "", text: t("console.transfer.none") }));
      for (const s of others) {
        officer.append(h("option", { value: s.id, text: `${s.name}${s.online ? ` (${t("console.transfer.online")})` : ""}` }));
      }
    } catch (err) {
      officer.append(h("option", { value: "", text: errorText(err) }));
    }
  }

  /** The meeting providers configured on the server ({providers, default, unconfigured?}), asked once. */
  function providers() {
    if (!providersAsked) {
      providersAsked = api("GET", "/meetings/providers").catch((err) => {
        providersAsked = null;
        throw err;
      });
    }
    return providersAsked;
  }

  async function meeting(room) {
    const tz = tzOf(state, room.c || {});
    let offer;
    try {
      offer = await providers();
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    const names = { zoom: "Zoom", jitsi: "Jitsi Meet", link: t("console.meeting.link") };
    const provider = h("select", { name: "provider" },
      offer.providers.map((p) => h("option", { value: p, text: names[p] || p })));
    provider.value = offer.default;
    const start = h("input", { type: "datetime-local", name: "start_time" });
    const url = h("input", { type: "url", name: "url", placeholder: "https://" });
    const urlField = field(t("console.meeting.url"), url);
    const showUrl = () => {
      urlField.hidden = provider.value !== "link";
      url.required = provider.value === "link";
    };
    showUrl();
    provider.addEventListener("change", showUrl);
    // Only an administrator hears which providers wait for the server's settings.
    const missing = (offer.unconfigured || []).map((p) => names[p] || p);
    const asked = dialogForm(t("console.meeting"), [
      field(t("console.meeting.provider"), provider),
      missing.length ? h("p", { class: "muted small admin-hint", text: t("console.meeting.unconfigured", { names: missing.join(", ") }) }) : null,
      field(`${t("console.meeting.start")} (${fmt.tzAbbr(tz)})`, start, t("console.meeting.start.hint")),
      urlField,
    ], t("console.meeting.submit"), async () => {
      const body = { provider: provider.value };
      if (start.value) body.start_time = fmt.localToIso(start.value, tz);
      if (provider.value === "link") body.url = url.value.trim();
      const made = await api("POST", `/consultations/${room.id}/meeting`, body);
      toast(t("console.meeting.done"));
      // The host link is only ever in this staff response: offer it once, never in the room, in a dialog of
      // its own once this one has closed (two stacked dialogs had two close buttons).
      if (made && made.host_start_url) {
        asked.dlg.addEventListener("close", () => {
          modal(t("console.meeting.host"), h("p", {}, externalLink(made.host_start_url, t("console.meeting.host.open"))));
        }, { once: true });
      }
    });
  }

  /** Book or move the room's visit: an open day, then a free time (visit.js). */
  function visit(room) {
    return pickVisit(room.c || {});
  }

  /** Cancel the room's booked visit. */
  function cancelRoomVisit(room) {
    return cancelVisit(room.c || {});
  }

  async function info(room) {
    const c = room.c || {};
    const opened = h("ul", { class: "plain" });
    const deliveries = h("div", {}, h("p", { class: "muted", text: t("kb.loading") }));
    const profile = { phone: h("dd", { class: "info-phone" }), institution: h("dd", { class: "info-institution" }),
      occupation: h("dd", { class: "info-occupation" }) };
    const previous = h("div", { class: "info-previous" }, h("p", { class: "muted", text: t("kb.loading") }));
    const dlg = modal(t("console.info.title"), [
      h("dl", { class: "info" },
        h("dt", { text: t("console.user") }), h("dd", { text: [c.user?.name, c.user?.email].filter(Boolean).join(" · ") }),
        h("dt", { text: t("auth.phone") }), profile.phone,
        h("dt", { text: t("auth.institution") }), profile.institution,
        h("dt", { text: t("auth.occupation") }), profile.occupation,
        h("dt", { text: t("new.topic") }), h("dd", { text: c.topic ? t(`topic.${c.topic}`) : "" }),
        h("dt", { text: t("console.kb.query") }), h("dd", { class: "kb-query", text: c.kb_query || t("console.kb.none") }),
        h("dt", { text: t("console.kb.opened") }), h("dd", {}, opened)),
      h("h3", { text: t("console.previous") }), previous,
      h("h3", { text: t("console.deliveries") }), deliveries,
    ], { wide: true });
    // Who asked, as registered; and what else they asked this office.
    api("GET", `/consultations/${room.id}/requester`).then((who) => {
      for (const [key, dd] of Object.entries(profile)) dd.textContent = who[key] || t("console.info.none");
    }).catch(() => {
      for (const dd of Object.values(profile)) dd.textContent = t("console.info.none");
    });
    api("GET", `/consultations/${room.id}/record`).then((rec) => {
      const list = (rec && rec.previous) || [];
      if (!list.length) {
        fill(previous, h("p", { class: "muted", text: t("console.previous.none") }));
        return;
      }
      fill(previous, h("ul", { class: "plain previous-list" }, list.map((p) => h("li", {},
        h("a", { href: `#/c/${p.id}`, class: "c-number", text: p.number || "", onclick: () => dlg.close() }), " ",
        h("span", { text: p.subject || "" }), " ",
        h("span", { class: `badge status-${p.status}`, text: t(`status.${p.status}`) }), " ",
        h("span", { class: "muted small", text: fmt.shortDateTime(p.created_at, tzOf(state, p)) })))));
    }).catch((err) => fill(previous, h("p", { class: "muted", text: errorText(err) })));
    const ids = c.kb_opened || [];
    if (!ids.length) opened.append(h("li", { text: t("console.kb.none") }));
    for (const id of ids) {
      const li = h("li", {}, h("button", { type: "button", class: "link-btn", text: id, onclick: () => kb.openArticle(id) }));
      opened.append(li);
      api("GET", `/kb/articles/${encodeURIComponent(id)}`).then((a) => {
        if (a && a.title) li.firstChild.textContent = a.title;
      }).catch(() => {});
    }
    try {
      const body = await api("GET", `/consultations/${room.id}/deliveries`);
      const list = body.deliveries || [];
      if (!list.length) {
        fill(deliveries, h("p", { class: "muted", text: t("console.deliveries.empty") }));
        return;
      }
      fill(deliveries, h("div", { class: "table-wrap" }, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["kind", "to", "status", "attempts", "when"].map((k) =>
          h("th", { scope: "col", text: t(`console.deliveries.${k}`) })))),
        h("tbody", {}, list.map((d) => h("tr", {},
          h("td", { text: words("delivery.kind", d.kind) }), h("td", { text: d.to }),
          h("td", {}, h("span", { class: `badge delivery-${d.status}`, text: words("delivery.status", d.status) }),
            d.last_error ? h("div", { class: "muted small", text: d.last_error }) : null),
          h("td", { text: String(d.attempts ?? 0) }),
          h("td", { text: fmt.shortDateTime(d.sent_at || d.created_at, tzOf(state, c)) })))))));
    } catch (err) {
      fill(deliveries, h("p", { class: "error", role: "alert", text: errorText(err) }));
    }
  }

  return { close, transfer, meeting, visit, cancelVisit: cancelRoomVisit, info };
}
