// Knowledge-base search and articles. The endpoints may not exist yet on a given server: then
// search says so plainly instead of failing.
import { api, errorText } from "./api.js";
import { cleanArticle, externalLink, h, markOnly, modal } from "./dom.js";
import { t } from "./i18n.js";

export class KbUnavailable extends Error {}

export const TOPICS = ["data", "metadata", "classification", "other"];
export const MAX_QUERY = 500;

/** Results [{id, title, snippet, score}] best first; KbUnavailable when the server has no search. */
export async function search(q, office, { live = false } = {}) {
  return (await searchPage(q, office, { live })).results;
}

/** One page of results and how many match in all: {results, total}; `offset` for "more". */
export async function searchPage(q, office, { live = false, offset = 0 } = {}) {
  const params = new URLSearchParams({ q });
  if (office) params.set("office", office);
  // Suggestions while typing are not logged as unanswered searches.
  if (live) params.set("live", "1");
  if (offset) params.set("offset", String(offset));
  try {
    const body = await api("GET", `/kb/search?${params}`);
    const results = (body && body.results) || [];
    return { results, total: Math.max(Number(body && body.total) || 0, offset + results.length) };
  } catch (err) {
    if ([404, 405, 501, 503].includes(err.status)) throw new KbUnavailable(t("kb.unavailable"));
    throw err;
  }
}

/** An article's own page (shareable). */
export function articleHref(id) {
  return `/kb/${encodeURIComponent(id)}`;
}

/**
 * A list of results. Each title links to the article's own page (shareable: copy it, open it in a
 * new tab); a plain click calls onOpen(result) instead, so the article opens beside what the user is doing.
 */
export function resultList(results, onOpen) {
  const click = (r) => (ev) => {
    if (!onOpen || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    onOpen(r);
  };
  return h("ul", { class: "kb-results" }, results.map((r) =>
    h("li", { class: "kb-result" },
      h("a", { class: "kb-title", href: articleHref(r.id), text: r.title || r.id, onclick: click(r) }),
      r.snippet ? h("p", { class: "kb-snippet" }, markOnly(r.snippet)) : null)));
}

/**
 * An article's body for display: the server's sanitised HTML copied through dom.js's allowlist
 * once more, then the related links (http(s) only, opened in a new tab).
 */
export function renderArticle(art) {
  const frag = document.createDocumentFragment();
  frag.append(h("div", { class: "kb-body" }, cleanArticle((art && art.html) || "")));
  const links = ((art && art.links) || []).map((l) => externalLink(l.url, l.title || l.url)).filter(Boolean);
  if (links.length) {
    frag.append(h("section", { class: "kb-links" }, h("h3", { text: t("kb.links") }),
      h("ul", {}, links.map((a) => h("li", {}, a)))));
  }
  return frag;
}

/** Open an article in a dialog. */
export async function openArticle(id, title) {
  const body = h("div", { class: "kb-article" }, h("p", { class: "muted", text: t("kb.loading") }));
  modal(title || t("kb.title"), body, { wide: true });
  try {
    const art = await api("GET", `/kb/articles/${encodeURIComponent(id)}`);
    body.replaceChildren(renderArticle(art));
    if (art.status === "published") {
      body.append(h("p", { class: "kb-permalink" }, h("a", { href: articleHref(id), target: "_blank",
        rel: "noopener", text: t("kb.page.open") })));
    }
    const heading = body.closest("dialog")?.querySelector("h2");
    if (heading && art.title) heading.textContent = art.title;
    return art;
  } catch (err) {
    body.replaceChildren(h("p", { class: "error", role: "alert",
      text: err.status === 404 ? t("kb.article.error") : errorText(err) }));
    return null;
  }
}
