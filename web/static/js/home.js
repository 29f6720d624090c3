// The home page: what the service is, a knowledge-base search and the five offices.
import { errorText, offices } from "./api.js";
import { $, externalLink, fill, h } from "./dom.js";
import * as fmt from "./fmt.js";
import { onLangChange, t } from "./i18n.js";
import * as kb from "./kb.js";
import { initLayout } from "./layout.js";

let officeList = [];
let lastResults = null; // {q, office, results, total} of the last search

function waLink(number) {
  const digits = String(number).replace(/\D/g, "");
  if (!digits) return null;
  const intl = digits.startsWith("0") ? `62${digits.slice(1)}` : digits;
  return externalLink(`https://wa.me/${intl}`, number);
}

function mailLink(address) {
  const a = String(address);
  if (!/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(a)) return document.createTextNode(a);
  return h("a", { href: `mailto:${a}`, text: a });
}

function row(label, nodes) {
  const list = nodes.filter(Boolean);
  if (!list.length) return null;
  const dd = h("dd", {});
  list.forEach((n, i) => {
    if (i) dd.append(", ");
    dd.append(n);
  });
  return [h("dt", { text: label }), dd];
}

function officeCard(o) {
  const c = o.contacts || {};
  const walk = o.walk_in || {};
  const sla = o.policy && o.policy.sla_working_days;
  const website = o.website ? externalLink(o.website, o.website.replace(/^https?:\/\//, "")) : null;
  return h("article", { class: "card office-card", "aria-labelledby": `office-${o.code}` },
    h("h3", { id: `office-${o.code}`, text: o.name }),
    h("p", { class: "muted", text: [o.province, t("office.tz", { tz: fmt.tzAbbr(o.time_zone) })].filter(Boolean).join(" · ") }),
    o.address ? h("p", { text: o.address }) : null,
    h("dl", { class: "contacts" },
      row(t("office.whatsapp"), (c.whatsapp || []).map(waLink)),
      row(t("office.email"), (c.email || []).map(mailLink)),
      row(t("office.phone"), (c.phone || []).map((p) => h("a", { href: `tel:${String(p).replace(/[^\d+]/g, "")}`, text: p }))),
      row(t("office.website"), [website]),
      row(t("office.complaints"), (c.complaint_links || []).map((l) => externalLink(l, l.replace(/^https?:\/\//, ""))))),
    sla ? h("p", { class: "sla-note", text: t("office.sla", { n: sla }) }) : null,
    (walk.requirements || []).length
      ? h("details", {}, h("summary", { text: t("office.walkin") }),
        h("ul", {}, walk.requirements.map((r) => h("li", { text: r }))))
      : null,
    h("p", {}, h("a", { class: "btn small", href: `/app/#/new?office=${encodeURIComponent(o.code)}`, text: t("home.cta") })));
}

function renderOffices() {
  const box = $("#offices");
  fill(box, officeList.map(officeCard));
  const select = $("#kb-office");
  const current = select.value;
  fill(select, h("option", { value: "", text: t("kb.office.all") }),
    officeList.map((o) => h("option", { value: o.code, text: o.name })));
  select.value = current;
}

async function loadOffices() {
  try {
    officeList = await offices();
    renderOffices();
  } catch (err) {
    fill($("#offices"), h("p", { class: "error", role: "alert", text: `${t("offices.error")} ${errorText(err)}` }));
  }
}

function renderResults() {
  const out = $("#kb-out");
  if (!lastResults) return;
  const { results, total } = lastResults;
  if (!results.length) {
    fill(out, h("p", { text: t("kb.none") }));
    return;
  }
  const more = total > results.length
    ? h("button", { type: "button", class: "btn small kb-more", onclick: showMore,
      text: t("kb.more", { n: Math.min(PAGE, total - results.length) }) })
    : null;
  fill(out, h("p", { class: "muted kb-count", text: t("kb.results", { n: total }) }),
    kb.resultList(results, (r) => kb.openArticle(r.id, r.title)), more);
}

const PAGE = 10;

async function showMore(ev) {
  const btn = ev.currentTarget;
  btn.disabled = true;
  const s = lastResults;
  try {
    const page = await kb.searchPage(s.q, s.office, { offset: s.results.length });
    if (lastResults !== s) return;
    s.results = [...s.results, ...page.results];
    s.total = page.results.length ? page.total : s.results.length;
    renderResults();
  } catch (err) {
    btn.disabled = false;
    fill($("#kb-out"), h("p", { class: "notice", role: "alert", text: errorText(err) }));
  }
}

// Searches answered out of order: only the newest may fill the results (a slow earlier answer came
// after a newer one and replaced it).
let searchNo = 0;

async function onSearch(ev) {
  ev.preventDefault();
  const mine = ++searchNo;
  const q = $("#kb-q").value.trim();
  const out = $("#kb-out");
  if (!q) {
    lastResults = null;
    fill(out, h("p", { class: "notice", role: "status", text: t("kb.empty") }));
    return;
  }
  fill(out, h("p", { class: "muted", text: t("kb.loading") }));
  const office = $("#kb-office").value;
  try {
    const page = await kb.searchPage(q, office);
    if (mine !== searchNo) return;
    lastResults = { q, office, results: page.results, total: page.total };
    renderResults();
  } catch (err) {
    if (mine !== searchNo) return;
    lastResults = null;
    fill(out, h("p", { class: "notice", role: "alert", text: err instanceof kb.KbUnavailable ? err.message : errorText(err) }));
  }
}

function boot() {
  initLayout();
  $("#kb-form").addEventListener("submit", onSearch);
  onLangChange(() => {
    renderOffices();
    renderResults();
  });
  loadOffices();
}

boot();
