// The console's state: one object for the signed-in screen, made by main.js and handed to every
// part (queue, rooms, panes, dialogs...). No part keeps state of its own at module level.

export const OBJECT_ID = /^[a-f0-9]{24}$/i;
export const DEFAULT_TZ = "Asia/Jakarta";

/** A fresh state, before anyone signs in. */
export function createState() {
  return {
    offices: new Map(), // code -> office, as the page loaded them
    me: null, // the signed-in staff member
    office: null, // the office code whose queue is shown
    socket: null,
    hub: null, // chat.js RoomHub: routes the socket's room events to the open rooms
    queue: [], // consultations waiting in the office's queue
    mine: new Map(), // id -> consultation (assigned to me, active)
    readSeq: new Map(), // id -> how far I have read
    panes: new Map(), // id -> {room, el, visible}
    opened: [], // pane ids in the order they were opened
    recent: [], // pane ids, most recently activated first
    phoneShowsRoom: false, // on a phone the lists and a room take turns
    canned: null, // {office, items}: the office's canned responses, loaded on first use
    view: "rooms", // which view shows: "rooms" (queue and rooms) or "kb" (the knowledge base)
    kbAdmin: null, // the knowledge-base view (kb_admin.js), built once signed in
  };
}

/** Forget the signed-in session (the server refused it): leave every room, empty the lists. */
export function forgetSignedIn(state) {
  state.me = null;
  state.kbAdmin = null;
  state.view = "rooms";
  for (const pane of state.panes.values()) pane.room.leave();
  state.panes.clear();
  state.opened = [];
  state.recent = [];
  state.mine.clear();
  state.queue = [];
}

/** The time zone to show a consultation's times in (its own, else its office's). */
export function tzOf(state, c) {
  return (c && (c.time_zone || state.offices.get(c.office)?.time_zone)) || DEFAULT_TZ;
}

/** True when `c` is an active consultation assigned to me. */
export function assignedToMe(state, c) {
  return Boolean(c.status === "active" && c.assigned_to && c.assigned_to.id === state.me.id);
}

/** Messages in one of my rooms I have not read; none while the room is on screen. */
export function unreadOf(state, id) {
  const c = state.mine.get(id);
  if (!c) return 0;
  const pane = state.panes.get(id);
  if (pane && pane.visible && document.visibilityState === "visible") return 0;
  const seen = Math.max(state.readSeq.get(id) || 0, (c.reads && c.reads[state.me.id]) || 0);
  return Math.max(0, (c.last_seq || 0) - seen);
}
