/**
 * The right to erasure, as a storage contract: one call removes everything a
 * backend stores about a user. Each backend implements it beside its stores
 * (sqlite/erasure_operations.ts, mongo/mongo_erasure.ts); the service API's
 * `DELETE /api/service/users/{userId}` answers its counts.
 *
 * Removed: the user's direct conversations whole (every message either side
 * sent, both members' conversation rows and unread counts, search entries,
 * delete-for-me marks, reactions on those messages), their memberships of
 * groups and the messages they sent there (replies quoting those keep only
 * their id), their reactions on others' group messages, the user's uploads
 * (records and bytes) and the partners' uploads that only erased messages
 * carried, push subscriptions, blocks and mutes in both directions, reports
 * the user filed, and the user record. Reports others filed against the user
 * stay: they are the host's moderation record (each holds a copy of the
 * reported message). A host's own users collection (MONGODB_USERS_COLLECTION)
 * keeps its document; only the presence fields Parley wrote are removed.
 */

/** How many of each kind an erasure removed. */
export interface ErasureCounts {
  messages: number;
  /** Direct conversations removed (each had a row per member). */
  conversations: number;
  /** Groups the user was taken out of (as if they left: the earliest joined becomes owner). */
  groupMemberships: number;
  uploads: number;
  subscriptions: number;
  blocks: number;
  mutes: number;
  hiddenMessages: number;
  /** The user's reactions on the messages removed or kept. */
  reactions: number;
  reports: number;
  /** 1 when a user record was removed (0 for a host's own users collection, whose document stays). */
  users: number;
}

export interface ErasureStore {
  /**
   * Removes everything stored about `userId` and answers the counts. SQLite
   * does it in one transaction; MongoDB in steps that are each safe to repeat,
   * so a call that failed part-way is finished by calling again.
   */
  eraseUser(userId: string): Promise<ErasureCounts>;
}
