// @ts-check
/// <reference lib="dom" />
/**
 * Reactions on a message: the few emoji the picker offers, the change a
 * `messageReaction` makes, and the row of counts under a bubble (each a toggle:
 * pressed when it is the reader's own).
 */
import { h } from "./dom.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").Reaction} Reaction */

/** What the picker offers; any other emoji a partner's client added still shows and counts. */
export const COMMON_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/**
 * The message with `userId`'s `emoji` added or taken off, as the server did it
 * (a repeat changes nothing).
 * @param {Pick<ChatMessage, "reactions">} message
 * @param {string} userId
 * @param {string} emoji
 * @param {boolean} added
 */
export function applyReaction(message, userId, emoji, added) {
  const reactions = (message.reactions ?? []).map((r) => ({ ...r, userIds: [...r.userIds] }));
  let entry = reactions.find((r) => r.emoji === emoji);
  if (added && !entry) reactions.push(entry = { emoji, userIds: [] });
  if (entry && added && !entry.userIds.includes(userId)) entry.userIds.push(userId);
  if (entry && !added) entry.userIds = entry.userIds.filter((id) => id !== userId);
  message.reactions = reactions.filter((r) => r.userIds.length > 0);
}

/**
 * Whether `userId` reacted to the message with `emoji`.
 * @param {Pick<ChatMessage, "reactions">} message
 * @param {string} userId
 * @param {string} emoji
 */
export function hasReacted(message, userId, emoji) {
  return (message.reactions ?? []).some((r) => r.emoji === emoji && r.userIds.includes(userId));
}

/**
 * The row of reaction chips, "👍 2": a button each, pressed when one is the
 * reader's; empty (hidden) when the message has none.
 * @param {HTMLElement} row
 * @param {readonly Reaction[]} reactions
 * @param {string} me
 */
export function renderReactions(row, reactions, me) {
  const root = row.getRootNode();
  const active = root instanceof Document || root instanceof ShadowRoot ? root.activeElement : null;
  const focused = active instanceof HTMLElement && row.contains(active)
    ? active.dataset.emoji
    : undefined;
  row.replaceChildren();
  for (const r of reactions) {
    if (r.userIds.length === 0) continue;
    const mine = r.userIds.includes(me);
    const chip = h("button", "reaction secondary small", `${r.emoji} ${r.userIds.length}`);
    chip.type = "button";
    chip.dataset.emoji = r.emoji;
    chip.setAttribute("aria-pressed", String(mine));
    chip.setAttribute(
      "aria-label",
      `${r.emoji} ${r.userIds.length} ${r.userIds.length === 1 ? "reaction" : "reactions"}${
        mine ? ", yours" : ""
      }`,
    );
    chip.title = r.userIds.join(", ");
    row.append(chip);
  }
  row.hidden = row.childElementCount === 0;
  // Re-rendered under the reader's keyboard focus: it stays on the same emoji.
  if (focused) {
    const again = [...row.querySelectorAll("button")].find((b) => b.dataset.emoji === focused);
    again?.focus();
  }
}
