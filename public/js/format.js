// @ts-check
/// <reference lib="dom" />
/** Pure formatting and parsing helpers: times, days, sizes, URLs, ids, JWT claims. */

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */

/**
 * @param {Date} a
 * @param {Date} b
 */
export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
    a.getDate() === b.getDate();
}

/** "14:05" today, "3 Mar 14:05" on another day. @param {string} iso */
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (sameDay(d, new Date())) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`;
}

/** The label of a day separator: "Today", "Yesterday" or a date. @param {string} iso */
export function formatDay(iso) {
  const d = new Date(iso);
  const today = new Date();
  if (sameDay(d, today)) return "Today";
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (sameDay(d, yesterday)) return "Yesterday";
  return d.toLocaleDateString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: d.getFullYear() === today.getFullYear() ? undefined : "numeric",
  });
}

/** A local calendar day key, to tell when a separator is due. @param {string} iso */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** @param {number} bytes */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "size unknown";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** The URL if it is http(s), else null: other schemes never become links. @param {string} url */
export function safeHttpUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Oldest first; ids break ties (both stores' ids sort by arrival). */
export function compareMessages(
  /** @type {ChatMessage} */ a,
  /** @type {ChatMessage} */ b,
) {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  if (a._id === b._id) return 0;
  return a._id < b._id ? -1 : 1;
}

/** A random id for `clientMessageId`; works outside secure contexts too. */
export function uuid() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** Claims tried in order for the user id: `sub`, then those hosts commonly sign. */
const USER_CLAIMS = ["sub", "userId", "user_id", "uid"];

/**
 * The claims of a JWT, unverified (the server verifies): the page only reads
 * who it is and when the token expires.
 * @param {string} token
 * `sub` is null when none of the usual claims holds the id: the server's
 * `session` event then says who the user is.
 * @returns {{ sub: string | null, name: string | null, exp: number | null } | null}
 */
export function readJwt(token) {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    /** @type {Record<string, unknown>} */
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    const text = (/** @type {unknown} */ v) =>
      typeof v === "string" && v.trim() !== "" ? v.trim() : null;
    // The server may take the user id from another claim (JWT_USER_CLAIM, e.g. userId);
    // a string, or an integer taken as its digits, as the server does.
    const id = (/** @type {unknown} */ v) =>
      typeof v === "number" && Number.isSafeInteger(v) ? String(v) : text(v);
    const sub = USER_CLAIMS.map((c) => id(claims[c])).find((v) => v !== null) ?? null;
    return {
      sub,
      name: text(claims.username) ?? text(claims.preferred_username) ?? text(claims.name),
      exp: typeof claims.exp === "number" ? claims.exp : null,
    };
  } catch {
    return null;
  }
}

/**
 * Runtime shape check of a message from the wire: a 1:1 message (`receiverId`)
 * or a group message (`groupId`). @param {unknown} m @returns {m is ChatMessage}
 */
export function isMessage(m) {
  if (!m || typeof m !== "object") return false;
  const r = /** @type {Record<string, unknown>} */ (m);
  return typeof r._id === "string" && typeof r.senderId === "string" &&
    (typeof r.receiverId === "string" || typeof r.groupId === "string") &&
    typeof r.createdAt === "string";
}
