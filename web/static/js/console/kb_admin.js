// The knowledge base in the officer console: the articles (list, write, edit, publish, archive), and
// for supervisors the searches that found nothing. Routes live in the page's hash:
//   #kb            the list          #kb/misses       searches that found nothing (supervisors)
//   #kb/new        a new article     #kb/new?title=…  a new article with a title filled in
//   #kb/<id>       one article in the editor
// The editor itself is kb_editor.js.
import { api, errorText } from "../api.js";
import { confirmModal, field, fill, h } from "../dom.js";
import * as fmt from "../fmt.js";
import { t } from "../i18n.js";
import { KbEditor, STATUSES } from "./kb_editor.js";
import { OBJECT_ID } from "./state.js";

const SUPERVISORS = new Set(["supervisor", "admin"]);

/** "#kb/…" → {kind: list|misses|new|edit, id?, title?}; null for any other hash. */
export function parseRoute(hash) {
  const m = /^#kb(?:\/([^?]*))?(?:\?(.*))?$/.exec(hash || "");
  if (!m) return null;
  const part = m[1] || "";
  const params = new URLSearchParams(m[2] || "");
  if (!part) return { kind: "list" };
  if (part === "misses") return { kind: "misses" };
  if (part === "new") return { kind: "new", title: (params.get("title") || "").slice(0, 200) };
  if (OBJECT_ID.test(part)) return { kind: "edit", id: part };
  return { kind: "list" };
}

export class KbAdmin {
  /**
   * me: the signed-in staff member; offices: Map code → office; tz(): the time zone to show times in;
   * navigate(hash): go to another route (the page owns the hash).
   */
  constructor({ me, offices, tz, navigate }) {
    this.me = me;
    this.offices = offices;
    this.tz = tz;
    this.navigate = navigate;
    this.isSupervisor = SUPERVISORS.has(me.role);
    this.route = { kind: "list" };
    this.hash = "#kb"; // the route showing (the page's knowledge-base tab goes back to it)
    this.tab = "articles";
    this.statusFilter = "";
    this.textFilter = "";
    this.articles = null; // the list as loaded (without bodies)
    this.listError = null;
    this.misses = null;
    this.missesError = null;
    this.article = null; // the article open in the editor (the server's copy), null for a new one
    this.editorError = null;
    this.loadSeq = 0;
    this.ed = null; // the KbEditor showing, if any
    this.el = h("section", { class: "kb-view", id: "kb-view", "aria-labelledby": "kb-view-h" });
    // Every link inside goes through leave(): typed changes are not dropped without asking.
    this.el.addEventListener("click", (ev) => {
      const a = ev.target.closest("a[href^='#kb']");
      if (!a || !this.ed || !this.ed.dirty || ev.defaultPrevented) return;
      ev.preventDefault();
      this.leave(a.getAttribute("href"));
    });
    this.render();
  }

  /** Go to `hash`, asking first when the editor holds unsaved changes. */
  async leave(hash) {
    if (this.ed && this.ed.dirty) {
      const ok = await confirmModal(t("kbadmin.discard"), t("kbadmin.discard.ok"), t("console.cancel"));
      if (!ok) return;
      this.ed.dirty = false;
    }
    this.navigate(hash);
  }

  // --- routing ----------------------------------------------------------------------------------

  /** Show the route in `hash` (called by the page on every #kb… hash). */
  async go(hash) {
    const route = parseRoute(hash) || { kind: "list" };
    if (route.kind === "misses" && !this.isSupervisor) route.kind = "list";
    this.hash = hash || "#kb";
    // Saving a new article rewrites #kb/new to #kb/<id>: the editor is already showing it.
    if (route.kind === "edit" && this.ed && this.article && this.article.id === route.id) {
      this.route = route;
      return;
    }
    this.route = route;
    if (route.kind === "misses") this.tab = "misses";
    else if (route.kind === "list") this.tab = "articles";
    if (this.articles === null) this.loadArticles();
    // The misses are counted on the first visit and fetched afresh whenever their tab is opened.
    if (this.isSupervisor && (this.misses === null || route.kind === "misses")) this.loadMisses();
    if (route.kind === "edit") {
      this.article = null;
      this.ed = null;
      this.editorError = null;
      this.paintSide();
      this.paintMain(true);
      const seq = ++this.loadSeq;
      try {
        const art = await api("GET", `/kb/articles/${encodeURIComponent(route.id)}`);
        if (seq !== this.loadSeq) return;
        this.article = art;
      } catch (err) {
        if (seq !== this.loadSeq) return;
        this.editorError = err.status === 404 ? t("kb.article.error") : errorText(err);
      }
    } else {
      ++this.loadSeq;
      this.article = null;
      this.ed = null;
      this.editorError = null;
    }
    this.paintSide();
    this.paintMain();
    if (route.kind === "new" || route.kind === "edit") this.ed?.title.focus({ preventScroll: true });
  }

  /** An article made elsewhere (a draft from a consultation): put it in the list. */
  remember(art) {
    if (this.articles) this.upsert(art);
  }

  // --- the frame ----------------------------------------------------------------------------------

  /** Build everything again (first time and after a language change); keeps what was typed. */
  render() {
    const values = this.ed && this.ed.dirty ? this.ed.values() : null;
    const editing = this.route.kind === "new" || this.route.kind === "edit";
    this.el.classList.toggle("show-editor", editing);
    this.side = h("div", { class: "kb-side" });
    this.main = h("div", { class: "kb-main", "aria-live": "off" });
    fill(this.el, this.side, this.main);
    this.paintSide();
    this.paintMain(false, values);
  }

  paintSide() {
    const editing = this.route.kind === "new" || this.route.kind === "edit";
    this.el.classList.toggle("show-editor", editing);
    const newBtn = h("button", { type: "button", class: "btn primary small", id: "kb-new",
      text: t("kbadmin.new"), onclick: () => this.leave("#kb/new") });
    const head = h("div", { class: "kb-side-head" }, h("h2", { id: "kb-view-h", text: t("kbadmin.title") }), newBtn);
    let tabs = null;
    if (this.isSupervisor) {
      const tab = (name, hash, label, extra) => h("a", { href: hash, class: "kb-subtab", id: `kb-tab-${name}`,
        "aria-current": this.tab === name ? "page" : null }, label, extra);
      const n = this.misses ? this.misses.length : 0;
      this.missCount = h("span", { class: "count", text: n ? ` (${n})` : "" });
      tabs = h("nav", { class: "kb-subtabs", "aria-label": t("kbadmin.title") },
        tab("articles", "#kb", t("kbadmin.articles")),
        tab("misses", "#kb/misses", t("kbadmin.misses"), this.missCount));
    }
    const body = this.tab === "misses" ? this.missesBlock() : this.articlesBlock();
    fill(this.side, head, tabs, body);
  }

  // --- the article list -----------------------------------------------------------------------------

  articlesBlock() {
    const status = h("select", { id: "kb-status-filter", "aria-label": t("kbadmin.filter.status") },
      h("option", { value: "", text: t("kbadmin.filter.current") }),
      STATUSES.map((s) => h("option", { value: s, text: t(`kbadmin.status.${s}`) })));
    status.value = this.statusFilter;
    status.addEventListener("change", () => {
      this.statusFilter = status.value;
      this.loadArticles();
    });
    const text = h("input", { type: "search", id: "kb-text-filter", placeholder: t("kbadmin.filter.placeholder"),
      "aria-label": t("kbadmin.filter.text"), value: this.textFilter, autocomplete: "off", maxlength: "200" });
    text.addEventListener("input", () => {
      this.textFilter = text.value;
      this.paintList();
    });
    this.countEl = h("p", { class: "muted small kb-count", role: "status" });
    this.listEl = h("ul", { class: "kb-list", id: "kb-list" });
    const block = h("div", { class: "kb-articles" },
      h("div", { class: "kb-filters" }, field(t("kbadmin.filter.status"), status), field(t("kbadmin.filter.text"), text)),
      this.countEl, this.listEl);
    this.paintList();
    return block;
  }

  async loadArticles() {
    const params = new URLSearchParams();
    if (this.statusFilter) params.set("status", this.statusFilter);
    if (this.me.office) params.set("office", this.me.office);
    const seq = (this.listSeq = (this.listSeq || 0) + 1);
    try {
      const qs = params.toString();
      const body = await api("GET", `/kb/articles${qs ? `?${qs}` : ""}`);
      if (seq !== this.listSeq) return;
      this.articles = body.articles || [];
      this.listError = null;
    } catch (err) {
      if (seq !== this.listSeq) return;
      this.articles = this.articles || [];
      this.listError = errorText(err);
    }
    this.paintList();
  }

  matchesFilter(a) {
    return this.statusFilter ? a.status === this.statusFilter : a.status !== "archived";
  }

  upsert(art) {
    const { body, html, ...rest } = art; // the list holds no bodies
    const list = (this.articles || []).filter((a) => a.id !== art.id);
    if (this.matchesFilter(art)) list.unshift(rest);
    this.articles = list;
    this.paintList();
  }

  scopeName(scope) {
    if (!scope || scope === "national") return t("kbadmin.scope.national");
    return this.offices.get(scope)?.name || scope;
  }

  paintList() {
    if (!this.listEl) return;
    if (this.articles === null) {
      fill(this.listEl, h("li", { class: "muted", text: t("kb.loading") }));
      this.countEl.textContent = "";
      return;
    }
    const q = this.textFilter.trim().toLowerCase();
    const items = this.articles.filter((a) => !q || (a.title || "").toLowerCase().includes(q)
      || (a.tags || []).some((tag) => tag.toLowerCase().includes(q)));
    this.countEl.textContent = t("kbadmin.count", { n: items.length });
    if (this.listError) {
      fill(this.listEl, h("li", { class: "error", role: "alert", text: this.listError }));
      return;
    }
    if (!items.length) {
      fill(this.listEl, h("li", { class: "muted empty", text: t("kbadmin.empty") }));
      return;
    }
    const current = this.route.kind === "edit" ? this.route.id : null;
    fill(this.listEl, items.map((a) => h("li", { class: "kb-item", dataset: { id: a.id } },
      h("a", { href: `#kb/${a.id}`, class: `kb-item-link${a.id === current ? " is-open" : ""}`,
        "aria-current": a.id === current ? "true" : null },
        h("span", { class: "kb-item-title", text: a.title }),
        h("span", { class: "kb-item-meta" },
          h("span", { class: `badge kb-status-${a.status}`, text: t(`kbadmin.status.${a.status}`) }), " ",
          h("span", { class: "muted small", text: [a.topic ? t(`topic.${a.topic}`) : null, this.scopeName(a.scope),
            fmt.shortDateTime(a.updated_at, this.tz())].filter(Boolean).join(" · ") }))))));
  }

  // --- searches that found nothing ------------------------------------------------------------

  missesBlock() {
    this.missesEl = h("div", { class: "kb-misses-box" });
    const reload = h("button", { type: "button", class: "btn ghost small", text: t("kbadmin.misses.reload"),
      onclick: () => this.loadMisses() });
    const block = h("div", { class: "kb-misses-wrap" },
      h("p", { class: "muted small", text: t("kbadmin.misses.lead") }), h("div", { class: "actions wrap" }, reload),
      this.missesEl);
    this.paintMisses();
    return block;
  }

  async loadMisses() {
    try {
      const body = await api("GET", "/kb/misses");
      this.misses = body.misses || [];
      this.missesError = null;
    } catch (err) {
      this.misses = this.misses || [];
      this.missesError = errorText(err);
    }
    if (this.missCount) this.missCount.textContent = this.misses.length ? ` (${this.misses.length})` : "";
    this.paintMisses();
  }

  paintMisses() {
    if (!this.missesEl) return;
    if (this.missesError) {
      fill(this.missesEl, h("p", { class: "error", role: "alert", text: this.missesError }));
      return;
    }
    if (this.misses === null) {
      fill(this.missesEl, h("p", { class: "muted", text: t("kb.loading") }));
      return;
    }
    if (!this.misses.length) {
      fill(this.missesEl, h("p", { class: "muted", text: t("kbadmin.misses.empty") }));
      return;
    }
    const tz = this.tz();
    fill(this.missesEl, h("ul", { class: "kb-misses", id: "kb-misses" }, this.misses.map((m) =>
      h("li", { class: "kb-miss" },
        h("div", { class: "kb-miss-main" },
          h("strong", { class: "kb-miss-q", text: m.query }),
          h("span", { class: "muted small", text: `${t("kbadmin.misses.count", { n: m.count })} · ${
            t("kbadmin.misses.last", { date: fmt.shortDateTime(m.last_at, tz) })}` })),
        h("button", { type: "button", class: "btn small", text: t("kbadmin.misses.write"),
          "aria-label": `${t("kbadmin.misses.write")}: ${m.query}`,
          onclick: () => this.leave(`#kb/new?${new URLSearchParams({ title: m.query })}`) })))));
  }

  // --- the main pane: a placeholder or the editor ---------------------------------------------

  paintMain(loading = false, values = null) {
    const editing = this.route.kind === "new" || this.route.kind === "edit";
    const back = h("button", { type: "button", class: "btn ghost small kb-back", text: `← ${t("kbadmin.back")}`,
      onclick: () => this.leave(this.tab === "misses" ? "#kb/misses" : "#kb") });
    if (!editing) {
      this.ed = null;
      fill(this.main, h("div", { class: "kb-placeholder" },
        h("p", { class: "muted", text: t("kbadmin.placeholder") })));
      return;
    }
    if (loading || (this.route.kind === "edit" && !this.article && !this.editorError)) {
      fill(this.main, back, h("p", { class: "muted", text: t("kb.loading") }));
      return;
    }
    if (this.editorError) {
      fill(this.main, back, h("p", { class: "error", role: "alert", text: this.editorError }));
      return;
    }
    this.ed = new KbEditor(this, back, values);
    fill(this.main, this.ed.el);
    if (values) this.ed.markDirty();
  }
}
