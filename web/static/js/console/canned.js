// Canned responses: the office's ready answers. In a room's composer "/" and a few letters suggest
// the matching shortcuts (arrows and Enter or Tab to take one, Esc to leave it); the picker dialog
// lists, writes and edits them. Their variables are filled from the room: {nama} the user's name,
// {nomor} the consultation's number, {kantor} the office, {batas} the answer deadline. A response
// marked as not an answer (a greeting, a request for clarification) leaves the SLA clock running.
// Loaded once per office (state.canned) and kept up to date here.
import { api, errorText } from "../api.js";
import { confirmModal, field, fill, h, modal, say } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";
import { tzOf } from "./state.js";

const SUGGEST_MAX = 6;
// "/" at the start or after a space, then the letters typed so far, up to the cursor.
const SLASH_WORD = /(^|\s)\/([\w-]*)$/;

/** The canned responses of the screen `ui`: the composer's suggestions and the picker. */
export function createCanned(ui) {
  const { state } = ui;

  async function load(code) {
    const body = await api("GET", `/offices/${encodeURIComponent(code)}/canned-responses`);
    state.canned = { office: code, items: body.canned_responses || [] };
    return state.canned.items;
  }

  function officeOf(room) {
    return (room.c && room.c.office) || state.office;
  }

  /** The office's responses for `room`, loaded on first use. */
  async function itemsFor(room) {
    const code = officeOf(room);
    if (!state.canned || state.canned.office !== code) await load(code);
    return state.canned.items;
  }

  /** `text` with the room's variables filled in (an unknown one stays as written). */
  function fillVariables(text, room) {
    const c = room.c || {};
    const office = state.offices.get(c.office || state.office);
    const due = c.sla && c.sla.due_at ? fmt.dateTime(c.sla.due_at, tzOf(state, c)) : "";
    const values = {
      nama: c.user?.name || "",
      nomor: c.number || "",
      kantor: office?.name || c.office || "",
      batas: due,
    };
    return text.replace(/\{(nama|nomor|kantor|batas)\}/g, (m, name) => values[name] || m);
  }

  /** Put `item` in `room`'s composer, its variables filled, marking whether it answers. */
  function insert(room, item, replace) {
    const text = fillVariables(item.text, room);
    if (replace) {
      const el = room.input;
      el.value = el.value.slice(0, replace.start) + el.value.slice(replace.end);
      el.selectionStart = el.selectionEnd = replace.start;
    }
    room.insertText(text, { answer: item.answer !== false });
  }

  /** The matches of `word` ("/sal" without the slash): shortcuts first, then titles with a word so begun. */
  function matches(items, word) {
    const q = word.toLowerCase();
    const byShortcut = items.filter((c) => c.shortcut && c.shortcut.startsWith(q));
    const byTitle = items.filter((c) => !byShortcut.includes(c)
      && c.title.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)));
    return [...byShortcut, ...byTitle].slice(0, SUGGEST_MAX);
  }

  /** Suggestions in `room`'s composer for "/" and letters. */
  function attach(room) {
    const listId = `canned-suggest-${room.id}`;
    const list = h("ul", { class: "canned-suggest", id: listId, role: "listbox", hidden: true,
      "aria-label": t("console.canned") });
    room.composer.append(list);
    room.input.setAttribute("aria-autocomplete", "list");
    room.input.setAttribute("aria-controls", listId);
    let shown = []; // the suggested items
    let active = 0;
    let token = null; // {start, end} of "/word" in the composer
    let asked = 0;

    const close = () => {
      list.hidden = true;
      shown = [];
      token = null;
      room.input.removeAttribute("aria-activedescendant");
      room.input.setAttribute("aria-expanded", "false");
    };
    const paint = () => {
      fill(list, shown.map((item, i) => h("li", {
        id: `${listId}-${i}`, role: "option", class: `canned-option${i === active ? " is-active" : ""}`,
        "aria-selected": String(i === active),
        onmousedown: (ev) => {
          ev.preventDefault(); // keep the composer's focus
          take(i);
        },
      }, h("code", { text: item.shortcut ? `/${item.shortcut}` : "" }), " ", h("strong", { text: item.title }),
      h("span", { class: "muted small canned-option-text", text: ` ${fillVariables(item.text, room)}` }))));
      list.hidden = !shown.length;
      room.input.setAttribute("aria-expanded", String(Boolean(shown.length)));
      if (shown.length) room.input.setAttribute("aria-activedescendant", `${listId}-${active}`);
    };
    const take = (i) => {
      const item = shown[i];
      const where = token;
      close();
      if (item) insert(room, item, where);
    };

    room.input.addEventListener("input", async () => {
      const el = room.input;
      const before = el.value.slice(0, el.selectionStart ?? el.value.length);
      const m = SLASH_WORD.exec(before);
      if (!m || room.noteMode) {
        close();
        return;
      }
      const mine = ++asked;
      let items;
      try {
        items = await itemsFor(room);
      } catch {
        close();
        return;
      }
      if (mine !== asked) return;
      token = { start: before.length - m[2].length - 1, end: before.length };
      shown = matches(items, m[2]);
      active = 0;
      paint();
    });
    room.input.addEventListener("blur", () => setTimeout(close, 150));
    // Before the composer's own Enter (send): a capturing listener on its form.
    room.composer.addEventListener("keydown", (ev) => {
      if (ev.target !== room.input || list.hidden || !shown.length) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        active = (active + (ev.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        paint();
      } else if (ev.key === "Enter" || ev.key === "Tab") {
        take(active);
      } else if (ev.key === "Escape") {
        close();
      } else {
        return;
      }
      ev.preventDefault();
      ev.stopPropagation();
    }, true);
  }

  /** Open the picker for `room` (a ChatRoom): insert, write, edit or delete a canned response. */
  async function pick(room) {
    const code = officeOf(room);
    const filter = h("input", { type: "search", placeholder: t("console.canned.filter"), "aria-label": t("console.canned.filter") });
    const list = h("ul", { class: "canned-list" });
    const title = h("input", { type: "text", name: "title", required: true, maxlength: "120" });
    const text = h("textarea", { name: "text", required: true, rows: "4", maxlength: "4000" });
    const shortcut = h("input", { type: "text", name: "shortcut", maxlength: "30", pattern: "[A-Za-z0-9_\\-]*" });
    const answer = h("input", { type: "checkbox", name: "answer", checked: true });
    const status = h("p", { class: "form-status", role: "alert", hidden: true });
    const formTitle = h("h3", { text: t("console.canned.new") });
    const save = h("button", { type: "submit", class: "btn primary small", text: t("console.canned.save") });
    const reset = h("button", { type: "button", class: "btn small", text: t("console.cancel") });
    let editing = null;
    const form = h("form", { class: "form canned-form" }, formTitle,
      field(t("console.canned.title"), title),
      field(t("console.canned.text"), text, t("console.canned.variables")),
      field(`${t("console.canned.shortcut")} ${t("auth.optional")}`, shortcut, t("console.canned.shortcut.hint")),
      h("label", { class: "check" }, answer, " ", t("console.canned.answer")), status,
      h("div", { class: "actions" }, reset, save));
    // Officers use the office's set; its supervisors and admins keep it (the server refuses the rest).
    const mayEdit = ["supervisor", "admin"].includes(state.me?.role);
    const dlg = modal(t("console.canned"), mayEdit ? [filter, list, form] : [filter, list], { wide: true });

    const startEdit = (item) => {
      editing = item;
      formTitle.textContent = item ? `${t("console.canned.edit")}: ${item.title}` : t("console.canned.new");
      title.value = item ? item.title : "";
      text.value = item ? item.text : "";
      shortcut.value = item && item.shortcut ? item.shortcut : "";
      answer.checked = item ? item.answer !== false : true;
      if (item) title.focus();
    };
    reset.addEventListener("click", () => startEdit(null));

    const remove = async (item) => {
      if (!(await confirmModal(t("console.canned.delete.confirm", { title: item.title }), t("console.canned.delete"),
        t("console.cancel")))) return;
      try {
        await api("DELETE", `/canned-responses/${encodeURIComponent(item.id)}`);
        state.canned.items = state.canned.items.filter((x) => x.id !== item.id);
        paint();
      } catch (err) {
        toast(errorText(err), "error");
      }
    };

    const paint = () => {
      const q = filter.value.trim().toLowerCase();
      const items = (state.canned?.items || []).filter((c) =>
        !q || c.title.toLowerCase().includes(q) || c.text.toLowerCase().includes(q) || (c.shortcut || "").includes(q));
      if (!items.length) {
        fill(list, h("li", { class: "muted", text: t("console.canned.empty") }));
        return;
      }
      fill(list, items.map((item) => h("li", { class: "canned-item" },
        h("div", { class: "canned-main" },
          h("strong", { text: item.title }), item.shortcut ? h("code", { text: ` /${item.shortcut}` }) : null,
          item.answer === false ? h("span", { class: "badge muted small", text: t("console.canned.not_answer") }) : null,
          h("p", { class: "muted small canned-text", text: item.text })),
        h("div", { class: "canned-actions" },
          h("button", { type: "button", class: "btn primary small", text: t("console.canned.insert"),
            onclick: () => { dlg.close(); insert(room, item); } }),
          mayEdit ? h("button", { type: "button", class: "btn small", text: t("console.canned.edit"),
            onclick: () => startEdit(item) }) : null,
          mayEdit ? h("button", { type: "button", class: "btn small danger-ghost", text: t("console.canned.delete"),
            onclick: () => remove(item) }) : null))));
    };
    filter.addEventListener("input", paint);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      say(status, "");
      const body = { title: title.value.trim(), text: text.value.trim(), shortcut: shortcut.value.trim() || null,
        answer: answer.checked };
      save.disabled = true;
      try {
        if (editing) {
          const upd = await api("PATCH", `/canned-responses/${encodeURIComponent(editing.id)}`, body);
          state.canned.items = state.canned.items.map((x) => (x.id === upd.id ? upd : x));
        } else {
          const created = await api("POST", `/offices/${encodeURIComponent(code)}/canned-responses`, body);
          state.canned.items = [...state.canned.items, created].sort((a, b) => a.title.localeCompare(b.title));
        }
        startEdit(null);
        paint();
      } catch (err) {
        say(status, errorText(err), "error");
      } finally {
        save.disabled = false;
      }
    });
    try {
      if (!state.canned || state.canned.office !== code) await load(code);
    } catch (err) {
      say(status, errorText(err), "error");
    }
    paint();
    filter.focus();
  }

  return { pick, attach };
}
