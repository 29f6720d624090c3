// The knowledge-base article editor (inside kb_admin.js's view): title, topic, scope, status, tags,
// Markdown body and links; saving answers with the server's `html`, shown as the preview through
// dom.js's allowlist (kb.renderArticle). Markdown is never rendered here.
import { api, errorText } from "../api.js";
import { field, fill, h, say } from "../dom.js";
import * as fmt from "../fmt.js";
import { has, t } from "../i18n.js";
import { TOPICS, renderArticle } from "../kb.js";

export const STATUSES = ["draft", "published", "archived"];
// The server names the field in its error code (invalid_<field> / missing_<field>).
const FIELD_OF = { title: "title", body: "body", topic: "topic", tags: "tags", scope: "scope", links: "links",
  url: "links", status: "status" };

export class KbEditor {
  /**
   * view: the KbAdmin showing the editor (its article, route, me, offices, tz, list); back: the
   * "← back" button; values: what was typed before a repaint, or null to start from the article.
   * `el` is the editor, `dirty` tells whether it holds unsaved changes.
   */
  constructor(view, back, values) {
    this.view = view;
    const art = view.article;
    const writable = this.canEdit(art);
    const v = values || (art ? {
      title: art.title, body: art.body || "", topic: art.topic || "other", scope: art.scope || "national",
      status: art.status || "draft", tags: art.tags || [], links: art.links || [],
    } : {
      title: view.route.title || "", body: "", topic: "other", scope: view.me.office || "national", status: "draft",
      tags: [], links: [],
    });
    const title = h("input", { type: "text", name: "title", required: true, maxlength: "200", value: v.title,
      autocomplete: "off" });
    const topic = h("select", { name: "topic" }, TOPICS.map((tp) => h("option", { value: tp, text: t(`topic.${tp}`) })));
    topic.value = v.topic;
    const scope = h("select", { name: "scope" },
      this.scopeChoices(v.scope).map((s) => h("option", { value: s, text: view.scopeName(s) })));
    scope.value = v.scope;
    const status = h("select", { name: "status" });
    const tags = h("input", { type: "text", name: "tags", maxlength: "2000", value: (v.tags || []).join(", "),
      autocomplete: "off" });
    const body = h("textarea", { name: "body", class: "kb-md", required: true, rows: "14", maxlength: "50000",
      value: v.body, spellcheck: "true" });
    const linkList = h("ul", { class: "kb-link-rows" });
    const addLink = h("button", { type: "button", class: "btn ghost small", text: `+ ${t("kbadmin.link.add")}` });
    const linksBox = h("fieldset", { class: "kb-links-edit" }, h("legend", { text: t("kbadmin.links") }),
      linkList, addLink);
    const statusMsg = h("p", { class: "form-status", role: "alert", hidden: true });
    const saveBtn = h("button", { type: "submit", class: "btn primary", text: t("kbadmin.save") });
    const previewBtn = h("button", { type: "button", class: "btn", text: t("kbadmin.preview"),
      title: t("kbadmin.preview.hint") });
    const close = h("button", { type: "button", class: "btn ghost", text: t("kbadmin.close"),
      onclick: () => view.leave(view.tab === "misses" ? "#kb/misses" : "#kb") });
    const heading = h("h2", { class: "kb-editor-title", text: art ? t("kbadmin.edit") : t("kbadmin.new") });
    const meta = h("p", { class: "muted small kb-meta" });
    const fieldset = h("fieldset", { class: "kb-fields", disabled: !writable },
      h("legend", { class: "sr-only", text: heading.textContent }),
      field(t("kbadmin.f.title"), title),
      h("div", { class: "kb-row" }, field(t("kbadmin.f.topic"), topic), field(t("kbadmin.f.scope"), scope,
        view.isSupervisor || !view.me.office ? null : t("kbadmin.f.scope.hint")), field(t("kbadmin.f.status"), status)),
      field(t("kbadmin.f.tags"), tags, t("kbadmin.f.tags.hint")),
      field(t("kbadmin.f.body"), body, t("kbadmin.f.body.hint")),
      linksBox);
    const form = h("form", { class: "form kb-editor", id: "kb-editor" },
      h("div", { class: "kb-editor-head" }, back, heading),
      meta,
      writable ? null : h("p", { class: "notice", text: t("kbadmin.readonly") }),
      fieldset, statusMsg,
      writable ? h("div", { class: "actions wrap kb-actions" }, saveBtn, previewBtn, close)
        : h("div", { class: "actions wrap" }, close));
    const previewHead = h("h3", { class: "kb-preview-h", tabindex: "-1", text: t("kbadmin.preview.title") });
    const stale = h("p", { class: "muted small kb-stale", hidden: true, text: t("kbadmin.preview.stale") });
    const previewBody = h("div", { class: "kb-article kb-preview-body", id: "kb-preview" });
    const previewBox = h("section", { class: "kb-preview", "aria-labelledby": "kb-preview-h" },
      previewHead, stale, previewBody);
    previewHead.id = "kb-preview-h";
    Object.assign(this, { form, title, topic, scope, status, tags, body, linkList, statusMsg, saveBtn, previewBtn,
      meta, heading, previewBody, stale, previewBox, dirty: Boolean(values) });

    for (const l of v.links || []) linkList.append(this.linkRow(l, !writable));
    addLink.addEventListener("click", () => {
      const row = this.linkRow({}, false);
      linkList.append(row);
      row.querySelector("input").focus();
    });
    form.addEventListener("input", () => this.markDirty());
    form.addEventListener("change", () => this.markDirty());
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.save(false);
    });
    previewBtn.addEventListener("click", () => this.save(true));

    this.paintStatusChoices(v.status);
    this.paintMeta();
    this.paintPreview();
    this.el = h("div", { class: "kb-editor-wrap" }, form, previewBox);
  }

  canEdit(art) {
    const { me, isSupervisor } = this.view;
    if (!art) return true;
    const scope = art.scope || "national";
    if (!me.office) return true;
    if (scope === "national") return isSupervisor;
    return scope === me.office;
  }

  scopeChoices(current) {
    const { me, isSupervisor, offices } = this.view;
    let list;
    if (!me.office) list = ["national", ...offices.keys()];
    else if (isSupervisor) list = ["national", me.office];
    else list = [me.office];
    if (current && !list.includes(current)) list.push(current);
    return list;
  }

  linkRow(l, disabled) {
    const title = h("input", { type: "text", class: "link-title", maxlength: "200", value: l.title || "",
      placeholder: t("kbadmin.link.title"), "aria-label": t("kbadmin.link.title"), disabled });
    const url = h("input", { type: "url", class: "link-url", maxlength: "2000", value: l.url || "",
      placeholder: "https://", "aria-label": t("kbadmin.link.url"), disabled });
    const row = h("li", { class: "kb-link-row" }, title, url);
    if (!disabled) {
      row.append(h("button", { type: "button", class: "icon-btn", text: "×", "aria-label": t("kbadmin.link.remove"),
        onclick: () => {
          row.remove();
          this.markDirty();
        } }));
    }
    return row;
  }

  paintStatusChoices(value) {
    // A new article is written as a draft or published; archiving is for one that exists.
    const choices = this.view.article ? STATUSES : ["draft", "published"];
    fill(this.status, choices.map((s) => h("option", { value: s, text: t(`kbadmin.status.${s}`) })));
    this.status.value = choices.includes(value) ? value : "draft";
  }

  paintMeta() {
    const art = this.view.article;
    const { meta, heading } = this;
    heading.textContent = art ? t("kbadmin.edit") : t("kbadmin.new");
    if (!art) {
      fill(meta, t("kbadmin.meta.new"));
      return;
    }
    fill(meta,
      h("span", { class: `badge kb-status-${art.status}`, text: t(`kbadmin.status.${art.status}`) }), " ",
      t("kbadmin.meta.updated", { date: fmt.shortDateTime(art.updated_at, this.view.tz()) }),
      art.author_name ? ` · ${t("kbadmin.meta.author", { name: art.author_name })}` : "",
      art.source_consultation ? ` · ${t("kbadmin.meta.source")}` : "");
  }

  paintPreview() {
    const art = this.view.article;
    if (!art) {
      fill(this.previewBody, h("p", { class: "muted", text: t("kbadmin.preview.none") }));
      this.stale.hidden = true;
      return;
    }
    this.previewBody.replaceChildren(h("p", { class: "kb-preview-title", text: art.title }), renderArticle(art));
    this.stale.hidden = !this.dirty;
  }

  markDirty() {
    this.dirty = true;
    if (this.view.article) this.stale.hidden = false;
  }

  /** What the form says, as the API wants it. */
  values() {
    const links = [...this.linkList.querySelectorAll(".kb-link-row")].map((row) => ({
      title: row.querySelector(".link-title").value.trim() || null,
      url: row.querySelector(".link-url").value.trim(),
    })).filter((l) => l.url || l.title);
    return {
      title: this.title.value.trim(),
      body: this.body.value,
      topic: this.topic.value,
      scope: this.scope.value,
      status: this.status.value,
      tags: this.tags.value.split(",").map((s) => s.trim()).filter(Boolean),
      links,
    };
  }

  errorMessage(err) {
    if (err.status === 403) return t("kbadmin.err.scope");
    const m = /^(invalid|missing)_(\w+)$/.exec(err.code || "");
    if (m && FIELD_OF[m[2]] && !has(`err.${err.code}`)) {
      const detail = String(err.message || "").replace(/^\w+: /, "") || t("err.validation");
      return `${t(`kbadmin.f.${FIELD_OF[m[2]]}`)}: ${detail}`;
    }
    return errorText(err);
  }

  markInvalid(err) {
    for (const el of this.form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const m = /^(invalid|missing)_(\w+)$/.exec((err && err.code) || "");
    const name = m && FIELD_OF[m[2]];
    if (!name) return;
    const target = name === "links" ? this.linkList.querySelector(".link-url") || this.linkList : this[name];
    if (target && target.setAttribute) {
      target.setAttribute("aria-invalid", "true");
      if (target.focus) target.focus();
    }
  }

  /** Save (create or update) the article; then scroll to the preview when `thenPreview`. */
  async save(thenPreview) {
    const view = this.view;
    if (!this.form.reportValidity()) return;
    this.markInvalid(null);
    say(this.statusMsg, t("kbadmin.saving"));
    this.saveBtn.disabled = true;
    this.previewBtn.disabled = true;
    const data = this.values();
    try {
      const art = view.article
        ? await api("PATCH", `/kb/articles/${encodeURIComponent(view.article.id)}`, data)
        : await api("POST", "/kb/articles", data);
      if (view.ed !== this) return; // the editor was left meanwhile
      const created = !view.article;
      view.article = art;
      this.dirty = false;
      view.upsert(art);
      if (created) {
        view.route = { kind: "edit", id: art.id };
        view.hash = `#kb/${art.id}`;
        history.replaceState(null, "", view.hash);
        view.paintList();
      }
      this.paintStatusChoices(art.status);
      this.paintMeta();
      this.paintPreview();
      say(this.statusMsg, t(art.status === "published" ? "kbadmin.saved.published" : "kbadmin.saved"), "ok");
      if (thenPreview) {
        this.previewBox.scrollIntoView({ block: "start", behavior: "smooth" });
        this.previewBox.querySelector(".kb-preview-h").focus({ preventScroll: true });
      }
    } catch (err) {
      if (view.ed !== this) return;
      say(this.statusMsg, this.errorMessage(err), "error");
      this.markInvalid(err);
    } finally {
      this.saveBtn.disabled = false;
      this.previewBtn.disabled = false;
    }
  }
}
