/**
 * How a message's reactions change, the same on every backend and in the
 * terminal client, which applies each `messageReaction` as the server did.
 */
import type { Reaction } from "./types.ts";

/**
 * The reactions with the user's `emoji` added (`add`) or taken off, or null
 * when that changes nothing (a repeat). An emoji's first user places it in
 * the list; it leaves the list with its last user.
 */
export function withReaction(
  reactions: readonly Reaction[],
  userId: string,
  emoji: string,
  add: boolean,
): Reaction[] | null {
  const entry = reactions.find((r) => r.emoji === emoji);
  if (add) {
    if (entry?.userIds.includes(userId)) return null;
    if (!entry) return [...reactions, { emoji, userIds: [userId] }];
    return reactions.map((r) => r === entry ? { emoji, userIds: [...r.userIds, userId] } : r);
  }
  if (!entry?.userIds.includes(userId)) return null;
  const userIds = entry.userIds.filter((id) => id !== userId);
  return userIds.length === 0
    ? reactions.filter((r) => r !== entry)
    : reactions.map((r) => r === entry ? { emoji, userIds } : r);
}
