// One consultation room: history, live messages, sending with idempotent retries, typing,
// read receipts and attachments. Used by the user portal and (several at once) by the console.
import { api, errorText } from "./api.js";
import { clipIcon, externalLink, h, linkify, say, uuid } from "./dom.js";
import * as fmt from "./fmt.js";
import { lang, t } from "./i18n.js";
import { visitCard } from "./visit.js";
import {
  ask, tell,
  CONSULTATION_JOIN, CONSULTATION_LEAVE, CONSULTATION_UPDATED, MESSAGE_NEW, MESSAGE_READ, MESSAGE_SEND, MESSAGE_STATUS,
  TYPING,
} from "./rt.js";

const TYPING_IDLE_MS = 2500;
const SERVER_HANGUP_RETRY_MS = 1000;
const TYPING_SHOW_MS = 8000;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const OBJECT_ID = /^[a-f0-9]{24}$/i;
const IMAGE_TYPES = new Set(["image/png", "image/jpeg"]);
const PROVIDERS = { zoom: "Zoom", jitsi: "Jitsi Meet", link: "Link" };
const STAFF_ROLES = new Set(["officer", "supervisor", "admin"]);
// Refusals that mean "again in a moment" (the server past its limit, this connection over 10 a second, the
// database not answering, an ack that did not come): a message is sent again by itself up to AGAIN_MAX times.
const AGAIN_CODES = new Set(["busy", "rate_limited", "database_unavailable", "timeout"]);
const AGAIN_MAX = 5;

export class ChatRoom {
  /**
   * socket: the page's Socket.IO client; id: consultation id; me: the signed-in user;
   * staff: officer view (notes, note toggle); tz: the office's time zone;
   * onConsultation(c): the consultation changed; onSeen(seq): this view read up to seq;
   * tools: extra composer buttons (built by the owner).
   */
  constructor({ socket, id, me, staff = false, tz, onConsultation, onSeen, tools = [] }) {
    this.socket = socket;
    this.id = id;
    this.me = me;
    this.staff = staff;
    this.tz = tz;
    this.onConsultation = onConsultation;
    this.onSeen = onSeen;
    this.c = null;
    this.entries = []; // sorted by seq: {m, el, day, dayEl}
    this.bySeq = new Map();
    this.pending = new Map(); // client_id -> {text, kind, el, state}
    this.lastSeq = 0;
    this.myRead = 0;
    this.reads = {};
    this.joined = false;
    this.active = true;
    this.noteMode = false;
    this.typingOn = false;
    this.typingTimer = null;
    this.typers = new Map();

    this.head = h("header", { class: "room-head" });
    this.list = h("div", { class: "room-list" });
    this.pendingBox = h("div", { class: "room-pending" });
    this.loading = h("p", { class: "room-loading muted", text: t("room.loading") });
    this.log = h("div", { class: "room-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      tabindex: "0", "aria-label": t("room.composer") }, this.loading, this.list, this.pendingBox);
    this.typingEl = h("div", { class: "typing", "aria-live": "polite" });
    this.footer = h("div", { class: "room-footer", hidden: true });
    this.composer = this.buildComposer(tools);
    this.el = h("section", { class: "room", "aria-busy": "true", dataset: { id } },
      this.head, this.log, this.typingEl, this.footer, this.composer);

    this.onVisibility = () => this.markRead();
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  // --- composer -------------------------------------------------------------------------------

  buildComposer(tools) {
    const inputId = `composer-${this.id}`;
    this.input = h("textarea", { id: inputId, class: "composer-input", rows: "2", maxlength: "4000",
      placeholder: t("room.composer"), autocomplete: "off" });
    this.inputLabel = h("label", { class: "sr-only", for: inputId, text: t("room.composer") });
    this.sendBtn = h("button", { type: "submit", class: "btn primary composer-send", text: t("room.send") });
    this.errorEl = h("p", { class: "composer-error", role: "alert", hidden: true });
    const fileId = `file-${this.id}`;
    this.fileInput = h("input", { type: "file", id: fileId, class: "sr-only",
      accept: ".pdf,.xlsx,.csv,.docx,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg,text/csv" });
    const attach = h("label", { class: "btn ghost small attach", for: fileId, title: t("room.attach.hint") },
      clipIcon(), h("span", { class: "lbl", text: t("room.attach") }));
    const toolbar = h("div", { class: "composer-tools" });
    if (this.staff) {
      this.noteBtn = h("button", { type: "button", class: "btn ghost small note-toggle", "aria-pressed": "false",
        text: t("console.note.toggle"), onclick: () => this.setNoteMode(!this.noteMode) });
      // Whether the next reply answers the question: the first answer stops the SLA clock, a greeting
      // or "we are looking into it" does not. Shown until the clock stopped.
      this.answerOn = true;
      this.answerBtn = h("button", { type: "button", class: "btn ghost small answer-toggle", "aria-pressed": "true",
        text: t("room.answer.toggle"), title: t("room.answer.hint"), onclick: () => this.setAnswer(!this.answerOn) });
      toolbar.append(this.noteBtn, this.answerBtn);
    }
    toolbar.append(...tools, attach, this.fileInput);
    const form = h("form", { class: "composer", novalidate: true },
      toolbar,
      h("div", { class: "composer-row" }, this.inputLabel, this.input, this.sendBtn),
      this.errorEl);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.typed());
    this.fileInput.addEventListener("change", () => {
      const file = this.fileInput.files && this.fileInput.files[0];
      this.fileInput.value = "";
      if (file) this.upload(file);
    });
    return form;
  }

  setNoteMode(on) {
    this.noteMode = Boolean(on);
    if (this.noteMode) this.stopTyping();
    this.composer.classList.toggle("note-mode", this.noteMode);
    this.noteBtn.setAttribute("aria-pressed", String(this.noteMode));
    this.paintAnswer();
    const label = this.noteMode ? t("room.composer.note") : t("room.composer");
    this.input.placeholder = label;
    this.inputLabel.textContent = label;
    this.input.focus();
  }

  /** Mark the next reply as the answer (true) or as an acknowledgement (false). */
  setAnswer(on) {
    this.answerOn = Boolean(on);
    if (this.answerBtn) this.answerBtn.setAttribute("aria-pressed", String(this.answerOn));
  }

  /** What the next reply is by default: an answer, unless the officer is waiting for a clarification. */
  resetAnswer() {
    this.setAnswer(!(this.c && this.c.awaiting_clarification));
  }

  /** Show the answer toggle only while it matters: an open room whose clock still runs, in reply mode. */
  paintAnswer() {
    if (!this.answerBtn) return;
    const running = this.c && this.c.status !== "closed" && !(this.c.sla && this.c.sla.state === "met");
    this.answerBtn.hidden = !running || this.noteMode;
  }

  /** Put `text` at the cursor; `answer` false marks the reply as an acknowledgement (a canned greeting). */
  insertText(text, { answer } = {}) {
    if (answer !== undefined) this.setAnswer(answer);
    const el = this.input;
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? el.value.length;
    el.value = el.value.slice(0, start) + text + el.value.slice(end);
    el.selectionStart = el.selectionEnd = start + text.length;
    el.focus();
  }

  showError(text) {
    say(this.errorEl, text, "error");
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    if (this.c && this.c.status === "closed") {
      this.showError(t("err.consultation_closed"));
      return;
    }
    this.input.value = "";
    this.showError("");
    this.stopTyping();
    this.send(text, this.noteMode ? "note" : "text");
    // A note is one message: the next one is a reply again (as in Chatwoot and Rocket.Chat).
    if (this.noteMode) this.setNoteMode(false);
    else if (this.answerBtn) this.resetAnswer();
  }

  typed() {
    if (this.noteMode || !this.joined) return;
    if (!this.typingOn) {
      this.typingOn = true;
      tell(this.socket, TYPING, { consultation_id: this.id, typing: true });
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingOn) {
      this.typingOn = false;
      tell(this.socket, TYPING, { consultation_id: this.id, typing: false });
    }
  }

  // --- sending --------------------------------------------------------------------------------

  send(text, kind = "text") {
    const p = { clientId: uuid(), text, kind, state: "pending", sending: false };
    if (this.staff && kind === "text") p.answer = this.answerOn;
    p.el = this.renderPending(p);
    this.paintPending(p);
    this.pending.set(p.clientId, p);
    this.pendingBox.append(p.el);
    this.scrollToEnd();
    this.trySend(p);
  }

  async trySend(p) {
    if (p.sending || !this.joined || !this.socket.connected) return; // sent again on (re)join
    p.sending = true;
    p.state = "pending";
    this.paintPending(p);
    try {
      const payload = { consultation_id: this.id, text: p.text, client_id: p.clientId, kind: p.kind };
      if (p.answer !== undefined) payload.answer = p.answer;
      const ack = await ask(this.socket, MESSAGE_SEND, payload);
      this.add(ack.message);
    } catch (err) {
      if (!this.pending.has(p.clientId)) return;
      p.tries = (p.tries || 0) + 1;
      if (AGAIN_CODES.has(err.code) && p.tries <= AGAIN_MAX) {
        // "Again in a moment": sent again by itself (same client_id: stored once), after a growing pause.
        setTimeout(() => this.trySend(p), Math.min(8000, 500 * 2 ** (p.tries - 1)) * (0.5 + Math.random()));
        return;
      }
      p.state = "failed";
      p.error = errorText(err);
      this.paintPending(p);
    } finally {
      p.sending = false;
    }
  }

  flushPending() {
    for (const p of this.pending.values()) {
      if (p.kind !== "file") this.trySend(p);
    }
  }

  renderPending(p) {
    const status = h("span", { class: "msg-status" });
    const el = h("div", { class: `msg msg-out pending kind-${p.kind}` },
      p.kind === "note" ? h("span", { class: "note-label", text: t("room.note") }) : null,
      h("div", { class: "msg-body" }, p.kind === "file" ? t("room.uploading", { name: p.text }) : linkify(p.text)),
      h("div", { class: "msg-meta" }, status));
    p.statusEl = status;
    return el;
  }

  paintPending(p) {
    const s = p.statusEl;
    if (p.state === "failed") {
      s.replaceChildren(
        h("span", { class: "failed", text: `${t("room.failed")}: ${p.error || ""} ` }),
        h("button", { type: "button", class: "link-btn", text: t("room.retry"),
          onclick: () => { p.tries = 0; this.trySend(p); } }),
        h("button", { type: "button", class: "link-btn", text: "×", "aria-label": t("console.cancel"),
          onclick: () => { p.el.remove(); this.pending.delete(p.clientId); } }));
      p.el.classList.add("failed");
    } else {
      s.textContent = t("room.pending");
      p.el.classList.remove("failed");
    }
  }

  async upload(file) {
    this.showError("");
    if (file.size > MAX_FILE_BYTES) {
      this.showError(t("room.too.big"));
      return;
    }
    const p = { clientId: uuid(), text: file.name, kind: "file", state: "pending" };
    p.el = this.renderPending(p);
    p.statusEl.textContent = t("room.pending");
    this.pending.set(p.clientId, p);
    this.pendingBox.append(p.el);
    this.scrollToEnd();
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("client_id", p.clientId);
    try {
      const msg = await api("POST", `/consultations/${encodeURIComponent(this.id)}/attachments`, form);
      this.add(msg);
    } catch (err) {
      p.el.remove();
      this.pending.delete(p.clientId);
      this.showError(errorText(err));
    }
  }

  // --- the room's state -----------------------------------------------------------------------

  async join() {
    const ack = await ask(this.socket, CONSULTATION_JOIN, { consultation_id: this.id, after_seq: this.lastSeq });
    this.joined = true;
    this.setConsultation(ack.consultation);
    for (const m of ack.messages || []) this.add(m, { scroll: false });
    this.loading.remove();
    this.el.removeAttribute("aria-busy");
    this.scrollToEnd();
    this.flushPending();
    this.markRead();
    return ack;
  }

  leave() {
    this.stopTyping();
    document.removeEventListener("visibilitychange", this.onVisibility);
    for (const tp of this.typers.values()) clearTimeout(tp.timer);
    if (this.joined) tell(this.socket, CONSULTATION_LEAVE, { consultation_id: this.id });
    this.joined = false;
  }

  disconnected() {
    this.joined = false;
  }

  setConsultation(c) {
    if (!c || c.id !== this.id) return;
    this.c = c;
    for (const [uid, seq] of Object.entries(c.reads || {})) this.reads[uid] = Math.max(this.reads[uid] || 0, seq);
    this.myRead = Math.max(this.myRead, this.reads[this.me.id] || 0);
    const closed = c.status === "closed";
    this.composer.hidden = closed;
    this.el.classList.toggle("closed", closed);
    if (closed) this.stopTyping();
    // A clarification asked for just now: the next reply is not the answer by default.
    const awaiting = Boolean(c.awaiting_clarification);
    if (this.answerBtn && awaiting !== this.wasAwaiting) this.resetAnswer();
    this.wasAwaiting = awaiting;
    this.paintAnswer();
    this.paintReads();
    if (this.onConsultation) this.onConsultation(c);
  }

  setActive(active) {
    this.active = Boolean(active);
    if (this.active) this.markRead();
  }

  markRead() {
    if (!this.active || !this.joined || document.visibilityState !== "visible") return;
    const seq = this.lastSeq;
    if (seq > this.myRead) {
      this.myRead = seq;
      tell(this.socket, MESSAGE_READ, { consultation_id: this.id, seq });
    }
    if (this.onSeen) this.onSeen(this.myRead);
  }

  /** Add a stored message (from history, an ack or an event); false if it was here already. */
  add(m, { scroll = true } = {}) {
    if (!m || m.consultation_id !== this.id) return false;
    if (m.kind === "note" && !this.staff) return false; // never shown to the user
    if (m.client_id && this.pending.has(m.client_id)) {
      this.pending.get(m.client_id).el.remove();
      this.pending.delete(m.client_id);
    }
    if (this.bySeq.has(m.seq)) return false;
    const nearEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120;
    const entry = { m, day: fmt.dayKey(m.created_at, this.tz) };
    entry.dayEl = h("div", { class: "day-sep", role: "separator" }, h("span", { text: fmt.day(m.created_at, this.tz) }));
    const [bubble, statusEl] = this.renderMessage(m);
    entry.statusEl = statusEl;
    entry.el = h("div", { class: "msg-wrap", dataset: { seq: String(m.seq) } }, entry.dayEl, bubble);
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].m.seq > m.seq) i -= 1;
    const next = this.entries[i];
    this.list.insertBefore(entry.el, next ? next.el : null);
    this.entries.splice(i, 0, entry);
    this.bySeq.set(m.seq, entry);
    this.paintDay(i);
    this.paintDay(i + 1);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (this.isMine(m)) this.myRead = Math.max(this.myRead, m.seq);
    this.paintReads();
    if (scroll && (nearEnd || this.isMine(m))) this.scrollToEnd();
    return true;
  }

  paintDay(i) {
    const e = this.entries[i];
    if (!e) return;
    const prev = this.entries[i - 1];
    e.dayEl.hidden = Boolean(prev && prev.day === e.day);
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  isMine(m) {
    return Boolean(m.author && m.author.id && m.author.id === this.me.id);
  }

  outgoing(m) {
    if (this.staff) return Boolean(m.author && STAFF_ROLES.has(m.author.role));
    return this.isMine(m);
  }

  /** How far the other side has read: the staff for the user; the user for the staff. */
  peerRead() {
    if (this.staff) return (this.c && this.c.user && this.reads[this.c.user.id]) || 0;
    let best = 0;
    for (const [uid, seq] of Object.entries(this.reads)) if (uid !== this.me.id) best = Math.max(best, seq);
    return best;
  }

  paintReads() {
    const peer = this.peerRead();
    for (const e of this.entries) {
      if (!e.statusEl) continue;
      if (e.m.delivery) { // a reply sent through WhatsApp: what Meta reported
        e.statusEl.textContent = t(`room.delivery.${e.m.delivery.status}`);
        e.statusEl.classList.toggle("is-read", e.m.delivery.status === "read");
        continue;
      }
      const read = e.m.seq <= peer;
      e.statusEl.textContent = read ? t("room.read") : t("room.sent");
      e.statusEl.classList.toggle("is-read", read);
    }
  }

  /** Draw the composer's words and every message again in the page's language (after a switch). */
  relabel() {
    const label = this.noteMode ? t("room.composer.note") : t("room.composer");
    this.input.placeholder = label;
    this.inputLabel.textContent = label;
    this.sendBtn.textContent = t("room.send");
    if (this.answerBtn) {
      this.answerBtn.textContent = t("room.answer.toggle");
      this.answerBtn.title = t("room.answer.hint");
    }
    this.log.setAttribute("aria-label", t("room.composer"));
    for (const e of this.entries) {
      const [bubble, statusEl] = this.renderMessage(e.m);
      e.dayEl.replaceChildren(h("span", { text: fmt.day(e.m.created_at, this.tz) }));
      e.el.replaceChildren(e.dayEl, bubble);
      e.statusEl = statusEl;
    }
    this.paintReads();
  }

  // --- events from the socket -----------------------------------------------------------------

  onMessage(m) {
    const added = this.add(m);
    if (added && m.author && m.author.id) this.clearTyper(m.author.id);
    if (added) this.markRead();
    return added;
  }

  /** message:status: what became of a reply sent through WhatsApp. */
  onDelivery(p) {
    const e = this.bySeq.get(p.seq);
    if (!e) return;
    e.m = { ...e.m, delivery: { channel: p.channel, status: p.status, at: p.at, error: p.error } };
    this.paintReads();
  }

  onRead(p) {
    if (!p || p.consultation_id !== this.id) return;
    this.reads[p.user_id] = Math.max(this.reads[p.user_id] || 0, p.seq || 0);
    if (p.user_id === this.me.id) this.myRead = Math.max(this.myRead, p.seq || 0);
    this.paintReads();
  }

  onTyping(p) {
    if (!p || !p.user || p.user.id === this.me.id) return;
    if (p.typing) {
      const old = this.typers.get(p.user.id);
      if (old) clearTimeout(old.timer);
      this.typers.set(p.user.id, { name: p.user.name, timer: setTimeout(() => this.clearTyper(p.user.id), TYPING_SHOW_MS) });
    } else {
      this.clearTyper(p.user.id);
      return;
    }
    this.paintTyping();
  }

  clearTyper(uid) {
    const tp = this.typers.get(uid);
    if (!tp) return;
    clearTimeout(tp.timer);
    this.typers.delete(uid);
    this.paintTyping();
  }

  paintTyping() {
    if (this.typers.size === 0) {
      this.typingEl.textContent = "";
      return;
    }
    if (!this.staff) {
      this.typingEl.textContent = t("room.typing.staff");
      return;
    }
    const names = [...this.typers.values()].map((x) => x.name).join(", ");
    this.typingEl.textContent = t("room.typing.name", { name: names });
  }

  // --- rendering a message --------------------------------------------------------------------

  /** [bubble element, read-status element or null] */
  renderMessage(m) {
    const kind = m.kind;
    const when = h("time", { datetime: m.created_at || "", title: fmt.dateTime(m.created_at, this.tz),
      text: fmt.time(m.created_at, this.tz) });
    if (kind === "system" && m.data && m.data.visit) {
      // A visit booked or cancelled: a card like the meeting's.
      return [h("div", { class: "msg msg-system kind-visit" }, visitCard(m, this.tz), h("div", { class: "msg-meta" }, when)),
        null];
    }
    if (kind === "system" || kind === "rating" || !["text", "note", "file", "meeting"].includes(kind)) {
      let text = localText(m);
      if (kind === "rating" && m.data && Number.isInteger(m.data.score)) text = t("room.rating", { score: m.data.score });
      return [h("div", { class: `msg msg-system kind-${kind === "rating" ? "rating" : "system"}` },
        h("p", { class: "msg-body" }, linkify(text)), h("div", { class: "msg-meta" }, when)), null];
    }
    const out = this.outgoing(m);
    const mine = this.isMine(m);
    const author = mine ? t("room.you") : (m.author && m.author.name) || "";
    let body;
    if (kind === "file") body = this.renderFile(m);
    else if (kind === "meeting") body = this.renderMeeting(m);
    else body = h("div", { class: "msg-body" }, linkify(m.text));
    const meta = h("div", { class: "msg-meta" }, h("span", { class: "msg-author", text: author }), " ", when);
    const el = h("div", { class: `msg ${out ? "msg-out" : "msg-in"} kind-${kind}` },
      kind === "note" ? h("span", { class: "note-label", text: t("room.note") }) : null, body, meta);
    let status = null;
    if (mine && kind !== "note") {
      status = h("span", { class: "msg-status" });
      meta.append(" ", status);
    }
    return [el, status];
  }

  renderFile(m) {
    const att = m.attachment || {};
    const ok = OBJECT_ID.test(String(att.id || ""));
    const href = ok ? `/api/v1/attachments/${att.id}` : null;
    const name = String(att.filename || t("room.file"));
    const box = h("div", { class: "msg-body file" });
    if (href && IMAGE_TYPES.has(att.content_type)) {
      box.append(h("a", { href: `${href}?inline=1`, target: "_blank", rel: "noopener noreferrer", class: "thumb-link" },
        h("img", { src: `${href}?inline=1`, alt: name, class: "thumb", loading: "lazy" })));
    }
    box.append(h("div", { class: "file-line" },
      clipIcon(),
      href ? h("a", { href, download: name, text: name }) : name,
      h("span", { class: "muted", text: ` (${fmt.fileSize(att.size)})` })));
    if (m.text && m.text !== name) box.append(h("p", {}, linkify(m.text)));
    return box;
  }

  renderMeeting(m) {
    const mt = m.meeting || {};
    const provider = typeof mt.provider === "string" ? PROVIDERS[mt.provider] || mt.provider : "";
    const when = mt.start_time ? fmt.dateTime(mt.start_time, this.tz) : t("room.meeting.now");
    const join = externalLink(mt.join_url, t("room.meeting.join"));
    if (join) join.className = "btn primary small";
    return h("div", { class: "msg-body meeting" },
      h("strong", { text: t("room.meeting") }),
      h("dl", {},
        h("dt", { text: t("room.meeting.provider") }), h("dd", { text: provider }),
        h("dt", { text: t("room.meeting.time") }), h("dd", { text: when })),
      join);
  }
}

/** A message's (or a list preview's) text in the page's language: system messages come in each one. */
export function localText(m) {
  return (m && m.texts && m.texts[lang()]) || (m && m.text) || "";
}

/** True when the server refused the socket because the session is gone. */
export function refusedForAuth(err) {
  return String((err && err.message) || "").includes("unauthenticated");
}

/**
 * Route the page's socket events to its open rooms; on reconnect every room joins again after
 * the last seq it saw, so nothing is lost.
 */
export class RoomHub {
  constructor(socket, { onStatus } = {}) {
    this.socket = socket;
    this.rooms = new Map();
    socket.on(MESSAGE_NEW, (m) => this.rooms.get(m && m.consultation_id)?.onMessage(m));
    socket.on(TYPING, (p) => this.rooms.get(p && p.consultation_id)?.onTyping(p));
    socket.on(MESSAGE_READ, (p) => this.rooms.get(p && p.consultation_id)?.onRead(p));
    socket.on(MESSAGE_STATUS, (p) => this.rooms.get(p && p.consultation_id)?.onDelivery(p));
    socket.on(CONSULTATION_UPDATED, (c) => this.rooms.get(c && c.id)?.setConsultation(c));
    socket.on("connect", () => {
      if (onStatus) onStatus(true);
      for (const room of this.rooms.values()) room.join().catch(() => {});
    });
    socket.on("disconnect", (reason) => {
      if (onStatus) onStatus(false);
      for (const room of this.rooms.values()) room.disconnected();
      // The client reconnects by itself after network trouble, but not when the server hung up.
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), SERVER_HANGUP_RETRY_MS);
    });
  }

  add(room) {
    this.rooms.set(room.id, room);
    if (this.socket.connected) return room.join();
    return Promise.resolve(null);
  }

  remove(id) {
    const room = this.rooms.get(id);
    if (room) {
      room.leave();
      this.rooms.delete(id);
    }
  }

  get(id) {
    return this.rooms.get(id);
  }
}
