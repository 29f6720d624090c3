// Canned responses: the office's ready answers, picked into a room's composer, written and
// edited in the same dialog. Loaded once per office (state.canned) and kept up to date here.
import { api, errorText } from "../api.js";
import { confirmModal, field, fill, h, modal, say } from "../dom.js";
import { t } from "../i18n.js";
import { toast } from "../layout.js";

/** The canned-response picker of the screen `ui`. */
export function createCanned(ui) {
  const { state } = ui;

  async function load(code) {
    const body = await api("GET", `/offices/${encodeURIComponent(code)}/canned-responses`);
    state.canned = { office: code, items: body.canned_responses || [] };
    return state.canned.items;
  }

  /** Open the picker for `room` (a ChatRoom): insert, write, edit or delete a canned response. */
  async function pick(room) {
    const code = (room.c && room.c.office) || state.office;
    const filter = h("input", { type: "search", placeholder: t("console.canned.filter"), "aria-label": t("console.canned.filter") });
    const list = h("ul", { class: "canned-list" });
    const title = h("input", { type: "text", name: "title", required: true, maxlength: "120" });
    const text = h("textarea", { name: "text", required: true, rows: "4", maxlength: "4000" });
    const shortcut = h("input", { type: "text", name: "shortcut", maxlength: "30", pattern: "[A-Za-z0-9_\\-]*" });
    const status = h("p", { class: "form-status", role: "alert", hidden: true });
    const formTitle = h("h3", { text: t("console.canned.new") });
    const save = h("button", { type: "submit", class: "btn primary small", text: t("console.canned.save") });
    const reset = h("button", { type: "button", class: "btn small", text: t("console.cancel") });
    let editing = null;
    const form = h("form", { class: "form canned-form" }, formTitle,
      field(t("console.canned.title"), title), field(t("console.canned.text"), text),
      field(`${t("console.canned.shortcut")} ${t("auth.optional")}`, shortcut), status,
      h("div", { class: "actions" }, reset, save));
    const dlg = modal(t("console.canned"), [filter, list, form], { wide: true });

    const startEdit = (item) => {
      editing = item;
      formTitle.textContent = item ? `${t("console.canned.edit")}: ${item.title}` : t("console.canned.new");
      title.value = item ? item.title : "";
      text.value = item ? item.text : "";
      shortcut.value = item && item.shortcut ? item.shortcut : "";
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
          h("p", { class: "muted small canned-text", text: item.text })),
        h("div", { class: "canned-actions" },
          h("button", { type: "button", class: "btn primary small", text: t("console.canned.insert"),
            onclick: () => { dlg.close(); room.insertText(item.text); } }),
          h("button", { type: "button", class: "btn small", text: t("console.canned.edit"), onclick: () => startEdit(item) }),
          h("button", { type: "button", class: "btn small danger-ghost", text: t("console.canned.delete"),
            onclick: () => remove(item) })))));
    };
    filter.addEventListener("input", paint);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      say(status, "");
      const body = { title: title.value.trim(), text: text.value.trim(), shortcut: shortcut.value.trim() || null };
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

  return { pick };
}
