// The Socket.IO connection (the client is served by our server at /vendor/socket.io.min.js).
import { ApiError, sessionToken } from "./api.js";
import { t } from "./i18n.js";

export const ACK_TIMEOUT_MS = 10000;

// Event names: the same constants as server/domain/events.py (a test compares the two).
// Server to client.
export const MESSAGE_NEW = "message:new";
export const ROOM_ACTIVITY = "room:activity";
export const CONSULTATION_UPDATED = "consultation:updated";
export const QUEUE_UPDATED = "queue:updated";
export const SLA_ALERT = "sla:alert";
export const COMPLAINT_ALERT = "complaint:alert";
export const MESSAGE_STATUS = "message:status";
// The session behind this connection ended (logout, password reset, account disabled): sign in again.
export const SESSION_ENDED = "session:ended";
// Both ways: a client reports, the server relays to the others in the room.
export const MESSAGE_READ = "message:read";
export const TYPING = "typing";
// Client to server (answered with an ack).
export const CONSULTATION_JOIN = "consultation:join";
export const CONSULTATION_LEAVE = "consultation:leave";
export const MESSAGE_SEND = "message:send";
// The queue boards (namespace /board, no login).
export const BOARD_WATCH = "board:watch";
export const QUEUE_BOARD = "queue:board";

/** Connect with the login token (sessionStorage) or, failing that, the session cookie. */
export function openSocket() {
  const token = sessionToken();
  return window.io({
    path: "/socket.io",
    transports: ["websocket"],
    auth: (cb) => cb(token ? { token } : {}),
  });
}

/** Emit and wait for the ack; resolves to the ack, rejects with ApiError when ok is false. */
export async function ask(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  let ack;
  try {
    ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new ApiError(0, "timeout", t("err.timeout"));
  }
  if (!ack || ack.ok !== true) {
    const err = (ack && ack.error) || {};
    throw new ApiError(0, err.code || "error", err.message || "");
  }
  return ack;
}

/** Emit without caring about the answer (typing, read marks). */
export function tell(socket, event, payload) {
  if (socket.connected) socket.emit(event, payload, () => {});
}
