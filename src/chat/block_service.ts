/**
 * Blocks between two users, and the rule they impose: while either blocks the
 * other, nothing new passes between them (messages, typing, edits, reactions)
 * and neither sees the other's presence. History stays readable to both.
 */
import { AppError } from "../errors.ts";
import type { BlockState } from "../protocol/types.ts";
import type { BlockEntry, ChatStore } from "../store/repository.ts";
import type { Broadcaster } from "./broadcaster.ts";

/** What a blocked (or blocking) sender is told. */
export const CANNOT_MESSAGE = "You cannot message this user";

export class BlockService {
  constructor(private readonly store: ChatStore, private readonly notify: Broadcaster) {}

  /**
   * `callerId` blocks `userId`. The first time, each is told the other went
   * offline, so that their pages stop showing the other's presence at once.
   */
  async block(callerId: string, userId: string): Promise<BlockState> {
    if (userId === callerId) {
      throw new AppError("VALIDATION_ERROR", "userId: cannot block yourself");
    }
    if (await this.store.blocks.block(callerId, userId, new Date().toISOString())) {
      this.notify.toUsers([callerId], "userOnline", { userId, isOnline: false, lastSeen: null });
      this.notify.toUsers([userId], "userOnline", {
        userId: callerId,
        isOnline: false,
        lastSeen: null,
      });
    }
    return { userId, blocked: true };
  }

  /**
   * Lifts `callerId`'s block of `userId`. Once nothing blocks either way, each
   * is told the other's presence as stored.
   */
  async unblock(callerId: string, userId: string): Promise<BlockState> {
    if (userId === callerId) {
      throw new AppError("VALIDATION_ERROR", "userId: cannot block yourself");
    }
    const lifted = await this.store.blocks.unblock(callerId, userId);
    if (lifted && !await this.store.blocks.isBlocked(callerId, userId)) {
      const users = await this.store.users.getMany([callerId, userId]);
      for (const [to, about] of [[callerId, userId], [userId, callerId]] as const) {
        const user = users.get(about);
        this.notify.toUsers([to], "userOnline", {
          userId: about,
          isOnline: user?.isOnline ?? false,
          lastSeen: user?.lastSeen ?? null,
        });
      }
    }
    return { userId, blocked: false };
  }

  /** The users `callerId` blocks, most recently blocked first. */
  blocked(callerId: string): Promise<BlockEntry[]> {
    return this.store.blocks.listBlocked(callerId);
  }

  /** Refuses (FORBIDDEN) anything new from `senderId` to `receiverId` while either blocks the other. */
  async assertCanMessage(senderId: string, receiverId: string): Promise<void> {
    if (await this.store.blocks.isBlocked(senderId, receiverId)) {
      throw new AppError("FORBIDDEN", CANNOT_MESSAGE);
    }
  }
}
