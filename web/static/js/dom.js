// Building the page from data. Text from people or the server is only ever set as text; the few
// places that accept server HTML (search snippets, knowledge-base articles) copy an allowlist.

const URL_ATTRS = new Set(["href", "src", "action", "formaction"]);
const PROPS = new Set(["value", "checked", "selected", "disabled", "hidden", "multiple", "required"]);

/** A safe URL for our own markup (relative, http(s), mailto, tel), else null. */
export function safeUrl(value, { allow = ["http:", "https:", "mailto:", "tel:"] } = {}) {
  let u;
  try {
    u = new URL(String(value), location.href);
  } catch {
    return null;
  }
  return allow.includes(u.protocol) ? u.href : null;
}

/** h("a", {href, class, text, onclick}, ...children): an element, children as nodes or text. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else if (URL_ATTRS.has(k)) {
      // Checked as a whole URL, written as given (relative stays relative).
      if (safeUrl(v)) el.setAttribute(k, String(v));
    } else el.setAttribute(k, v === true ? "" : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  add(el, children);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

/** An <a> to an http(s) address that opens in a new tab, or null for any other scheme. */
export function externalLink(href, label) {
  const url = safeUrl(href, { allow: ["http:", "https:"] });
  if (!url) return null;
  const a = document.createElement("a");
  a.href = url;
  a.textContent = label === undefined ? String(href) : String(label);
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;

function trimUrl(url) {
  let trail = "";
  while (/[.,;:!?)\]}'"]$/.test(url)) {
    if (url.endsWith(")") && url.split("(").length > url.split(")").length - 1) break;
    trail = url.slice(-1) + trail;
    url = url.slice(0, -1);
  }
  return [url, trail];
}

/** Text as nodes, with http(s) addresses as links; nothing is read as HTML. */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? "");
  let last = 0;
  for (const m of s.matchAll(URL_IN_TEXT)) {
    const [url, trail] = trimUrl(m[0]);
    if (m.index > last) frag.append(s.slice(last, m.index));
    frag.append(externalLink(url, url) || url);
    if (trail) frag.append(trail);
    last = m.index + m[0].length;
  }
  if (last < s.length) frag.append(s.slice(last));
  return frag;
}

function parseInert(html) {
  // A template's content is inert: no script runs, no image loads, no handler fires.
  const tpl = document.createElement("template");
  tpl.innerHTML = String(html ?? "");
  return tpl.content;
}

function copyMarks(src, dst) {
  for (const n of src.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) dst.append(n.data);
    else if (n.nodeType === Node.ELEMENT_NODE) {
      if (n.tagName === "MARK") {
        const m = document.createElement("mark");
        copyMarks(n, m);
        dst.append(m);
      } else if (!DROP.has(n.tagName)) copyMarks(n, dst);
    }
  }
}

/** A search snippet (server-escaped HTML with <mark>): its text and <mark> elements, nothing else. */
export function markOnly(html) {
  const frag = document.createDocumentFragment();
  copyMarks(parseInert(html), frag);
  return frag;
}

const DROP = new Set(["SCRIPT", "STYLE", "IFRAME", "FRAME", "FRAMESET", "OBJECT", "EMBED", "APPLET", "TEMPLATE",
  "NOSCRIPT", "FORM", "INPUT", "BUTTON", "TEXTAREA", "SELECT", "OPTION", "LINK", "META", "BASE", "SVG", "MATH",
  "AUDIO", "VIDEO", "SOURCE", "TRACK", "CANVAS", "DIALOG", "PORTAL", "TITLE", "HEAD"]);

const ARTICLE_TAGS = {
  P: [], BR: [], HR: [], H1: [], H2: [], H3: [], H4: [], H5: [], H6: [], UL: [], OL: ["start"], LI: [],
  STRONG: [], EM: [], B: [], I: [], U: [], S: [], DEL: [], INS: [], SUB: [], SUP: [], SMALL: [], MARK: [],
  CODE: [], PRE: [], KBD: [], BLOCKQUOTE: [], DL: [], DT: [], DD: [], SPAN: [], DIV: [],
  TABLE: [], THEAD: [], TBODY: [], TFOOT: [], TR: [], CAPTION: [], TH: ["colspan", "rowspan", "scope"],
  TD: ["colspan", "rowspan"], A: ["href", "title"], IMG: ["src", "alt", "title", "width", "height"],
  ABBR: ["title"], FIGURE: [], FIGCAPTION: [],
};

function copyArticle(src, dst) {
  for (const n of src.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) {
      dst.append(n.data);
      continue;
    }
    if (n.nodeType !== Node.ELEMENT_NODE || DROP.has(n.tagName)) continue;
    const allowed = ARTICLE_TAGS[n.tagName];
    if (!allowed) {
      copyArticle(n, dst);
      continue;
    }
    const el = document.createElement(n.tagName.toLowerCase());
    for (const name of allowed) {
      const v = n.getAttribute(name);
      if (v === null) continue;
      if (name === "href") {
        const url = safeUrl(v, { allow: ["http:", "https:", "mailto:"] });
        if (!url) continue;
        el.setAttribute("href", url);
        el.target = "_blank";
        el.rel = "noopener noreferrer";
      } else if (name === "src") {
        // Only our own images: anything else would break the page's content policy anyway.
        const url = safeUrl(v, { allow: ["http:", "https:"] });
        if (!url || new URL(url).origin !== location.origin) continue;
        el.setAttribute("src", url);
      } else if (/^[\w\s.,:%#-]*$/.test(v)) el.setAttribute(name, v);
    }
    if (n.tagName === "IMG" && !el.hasAttribute("src")) {
      if (n.getAttribute("alt")) dst.append(`[${n.getAttribute("alt")}]`);
      continue;
    }
    copyArticle(n, el);
    dst.append(el);
  }
}

/** Knowledge-base article HTML (sanitised by the server) copied through an allowlist once more. */
export function cleanArticle(html) {
  const frag = document.createDocumentFragment();
  copyArticle(parseInert(html), frag);
  return frag;
}

/** Show `text` in a status element (role=status or alert is set by the markup). */
export function say(el, text, kind = "info") {
  if (!el) return;
  el.textContent = text || "";
  el.dataset.kind = kind;
  el.hidden = !text;
}

/** fn debounced by `ms`; .cancel() drops a pending call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** A unique id for client-side idempotency (message client_id). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A modal <dialog> with a title and body; resolves when closed. Focus returns to the opener. */
export function modal(title, body, { onClose, wide = false } = {}) {
  const opener = document.activeElement;
  const titleId = `dlg-${uuid()}`;
  const closeBtn = h("button", { type: "button", class: "icon-btn dialog-x", "aria-label": "×", text: "×" });
  const dlg = h("dialog", { class: wide ? "dialog wide" : "dialog", "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId, text: title }), closeBtn),
    h("div", { class: "dialog-body" }, body));
  closeBtn.addEventListener("click", () => dlg.close());
  dlg.addEventListener("close", () => {
    // Back to the opener unless what closed the dialog put the focus somewhere on purpose (a canned response
    // inserted into the composer): the close event comes a moment after close(), and taking the focus back
    // then sent the officer's Enter to the opener, which opened the dialog again.
    const active = document.activeElement;
    const focusLeft = !active || active === document.body || active === opener || dlg.contains(active);
    dlg.remove();
    if (onClose) onClose();
    if (focusLeft && opener && opener.focus && document.contains(opener)) opener.focus();
  });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

/** Ask a yes/no question in a modal; resolves true when confirmed. */
export function confirmModal(question, okLabel, cancelLabel) {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h("button", { type: "button", class: "btn primary", text: okLabel });
    const cancel = h("button", { type: "button", class: "btn", text: cancelLabel });
    const dlg = modal(okLabel, [h("p", { text: question }), h("div", { class: "actions" }, cancel, ok)],
      { onClose: () => resolve(answer) });
    ok.addEventListener("click", () => { answer = true; dlg.close(); });
    cancel.addEventListener("click", () => dlg.close());
    ok.focus();
  });
}

let fieldIds = 0;

/** A labelled form control (with an optional hint tied by aria-describedby). */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++fieldIds}`;
  const hintEl = hint ? h("small", { id: `${control.id}-hint`, class: "hint", text: hint }) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control, hintEl);
}

/** The form's named values, trimmed. */
export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
  return out;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** A small inline paperclip icon (fonts on some systems have no emoji). */
export function clipIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linecap", "round");
  svg.append(path);
  return svg;
}
