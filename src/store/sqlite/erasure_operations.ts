/**
 * What the service API's data-subject routes need from SQLite (erasure.ts):
 * the export's paged reads of one user's rows, and the erasure of everything
 * stored about the user as one write, so one savepoint of the writer's
 * transaction: it happens whole or not at all. Merged into the worker's
 * tables in operations.ts.
 *
 * The erasure removes the user's direct conversations whole (both members'
 * rows, every message, their search rows by the FTS triggers, hides, upload
 * references); upload files are removed by the caller once it has committed,
 * from the ids it answers.
 */
import type { ChatMessage, Reaction } from "../../protocol/types.ts";
import type { ErasureCounts } from "../erasure.ts";
import type { MuteEntry, Report } from "../repository.ts";
import type { UploadRecord } from "../upload_store.ts";
import { withReaction } from "../../protocol/reactions.ts";
import { groupWrites } from "./group_operations.ts";
import { type MessageRow, toMessage } from "./message_rows.ts";
// operations.ts merges this module's tables; these two are only called, never read at load.
import { forgetConversationIds, toReport, toUpload } from "./operations.ts";
import type { Sql } from "./sql.ts";

/** What `eraseUser` did; the caller removes the files of `uploadIds`. */
export interface SqliteErasure {
  counts: ErasureCounts;
  uploadIds: string[];
}

/** The user's direct conversations (a member row with a partner is a direct one). */
const DIRECT_OF = `SELECT conversation_id FROM conversation_members
  WHERE user_id = ?1 AND partner_id IS NOT NULL`;

/** The groups the user is a member of. */
const GROUPS_OF = `SELECT conversation_id FROM conversation_members
  WHERE user_id = ?1 AND joined_seq IS NOT NULL`;

/**
 * The messages that go: those of the user's direct conversations, and the
 * ones they sent to their groups (a group's other messages are the others').
 */
const ERASED_MESSAGES = `SELECT id FROM messages WHERE conversation_id IN (${DIRECT_OF})
  UNION ALL SELECT id FROM messages WHERE receiver_id IS NULL AND sender_id = ?1
    AND conversation_id IN (${GROUPS_OF})`;

export const erasureReads = {
  /**
   * Oldest first after `after`, over the user's direct conversations (every
   * message) and groups (the messages they sent): each gives at most `limit`
   * rows from its index, and the oldest `limit` of them all are the page (no
   * sort of the user's whole history per page).
   */
  allForUser(sql: Sql, a: { userId: string; limit: number; after?: string }): ChatMessage[] {
    const direct = sql.all<{ conversation_id: number }>(DIRECT_OF, a.userId);
    const groups = sql.all<{ conversation_id: number }>(GROUPS_OF, a.userId);
    let page: MessageRow[] = [];
    const merge = (rows: MessageRow[]) => {
      page = page.concat(rows).sort((x, y) => (x.id < y.id ? -1 : 1)).slice(0, a.limit);
    };
    for (const { conversation_id } of direct) {
      merge(sql.all<MessageRow>(
        "SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?",
        conversation_id,
        a.after ?? "",
        a.limit,
      ));
    }
    for (const { conversation_id } of groups) {
      merge(sql.all<MessageRow>(
        `SELECT * FROM messages WHERE conversation_id = ? AND receiver_id IS NULL AND id > ?
           AND sender_id = ? ORDER BY id LIMIT ?`,
        conversation_id,
        a.after ?? "",
        a.userId,
        a.limit,
      ));
    }
    return page.map(toMessage);
  },

  reportsForUser(sql: Sql, a: { userId: string; limit: number; after?: string }): Report[] {
    return sql.all(
      `SELECT * FROM reports WHERE (reporter_id = ?1 OR reported_user_id = ?1) AND id > ?2
       ORDER BY id LIMIT ?3`,
      a.userId,
      a.after ?? "",
      a.limit,
    ).map(toReport);
  },

  mutesForUser(sql: Sql, a: { userId: string }): MuteEntry[] {
    return sql.all<{ partner_id: string; until: string | null }>(
      "SELECT partner_id, until FROM mutes WHERE user_id = ? ORDER BY partner_id",
      a.userId,
    ).map((row) => ({ partnerId: row.partner_id, until: row.until }));
  },

  uploadsForOwner(sql: Sql, a: { ownerId: string; limit: number; after?: string }): UploadRecord[] {
    return sql.all(
      "SELECT * FROM uploads WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?",
      a.ownerId,
      a.after ?? "",
      a.limit,
    ).map(toUpload);
  },
};

export const erasureWrites = {
  eraseUser(sql: Sql, { userId }: { userId: string }): SqliteErasure {
    const reactions = sql.get<{ n: number }>(
      `SELECT count(*) AS n FROM messages m, json_each(m.reactions) r, json_each(r.value, '$.userIds') u
       WHERE m.id IN (${ERASED_MESSAGES}) AND m.reactions IS NOT NULL AND u.value = ?1`,
      userId,
    )!.n + takeReactionsOff(sql, userId);
    // Replies in groups that quote what goes keep its id only, as after a delete.
    sql.run(
      `UPDATE messages SET reply_to = json_object('_id', reply_to_id, 'deleted', json('true'))
       WHERE reply_to_id IN (${ERASED_MESSAGES})`,
      userId,
    );
    const hiddenMessages = sql.run(
      `DELETE FROM hidden_messages WHERE user_id = ?1 OR message_id IN (${ERASED_MESSAGES})`,
      userId,
    );

    // Uploads: the user's own, and the partners' ones that only erased messages carry.
    const referenced = sql.all<{ upload_id: string }>(
      `SELECT DISTINCT upload_id FROM upload_refs WHERE message_id IN (${ERASED_MESSAGES})`,
      userId,
    ).map((row) => row.upload_id);
    sql.run(`DELETE FROM upload_refs WHERE message_id IN (${ERASED_MESSAGES})`, userId);
    const uploadIds = sql.all<{ id: string; owner_id: string; size: number }>(
      `SELECT id, owner_id, size FROM uploads WHERE owner_id = ?1 OR (id IN
         (SELECT value FROM json_each(?2)) AND NOT EXISTS
         (SELECT 1 FROM upload_refs r WHERE r.upload_id = uploads.id))`,
      userId,
      JSON.stringify(referenced),
    ).map((upload) => {
      sql.run("DELETE FROM upload_refs WHERE upload_id = ?", upload.id);
      sql.run("DELETE FROM uploads WHERE id = ?", upload.id);
      sql.run(
        "UPDATE upload_usage SET bytes = bytes - ? WHERE owner_id = ?",
        upload.size,
        upload.owner_id,
      );
      return upload.id;
    });
    sql.run("DELETE FROM upload_usage WHERE owner_id = ?", userId);

    const groupMessages = sql.run(
      `DELETE FROM messages WHERE receiver_id IS NULL AND sender_id = ?1
         AND conversation_id IN (${GROUPS_OF})`,
      userId,
    );
    // Out of each group as if they left: the earliest joined becomes owner.
    const at = new Date().toISOString();
    const groups = sql.all<{ group_id: string }>(
      `SELECT group_id FROM conversations WHERE id IN (${GROUPS_OF})`,
      userId,
    );
    for (const { group_id } of groups) {
      groupWrites.removeGroupMember(sql, { groupId: group_id, userId, at });
    }

    const conversations = sql.all<{ conversation_id: number }>(DIRECT_OF, userId)
      .map((row) => row.conversation_id);
    const inConversations = "IN (SELECT value FROM json_each(?))";
    const ids = JSON.stringify(conversations);
    const messages = groupMessages +
      sql.run(`DELETE FROM messages WHERE conversation_id ${inConversations}`, ids);
    sql.run(`DELETE FROM conversation_members WHERE conversation_id ${inConversations}`, ids);
    sql.run(`DELETE FROM conversations WHERE id ${inConversations}`, ids);
    // The writer's cache of conversation ids must not hand out the ones just removed.
    forgetConversationIds();
    // The user's client ids of deleted messages; the partners' own stay (their resends stay refused).
    sql.run("DELETE FROM deleted_client_ids WHERE sender_id = ?", userId);

    return {
      uploadIds,
      counts: {
        messages,
        conversations: conversations.length,
        groupMemberships: groups.length,
        uploads: uploadIds.length,
        subscriptions: sql.run("DELETE FROM push_subscriptions WHERE user_id = ?", userId),
        blocks: sql.run("DELETE FROM blocks WHERE blocker_id = ?1 OR blocked_id = ?1", userId),
        mutes: sql.run("DELETE FROM mutes WHERE user_id = ?1 OR partner_id = ?1", userId),
        hiddenMessages,
        reactions,
        reports: sql.run("DELETE FROM reports WHERE reporter_id = ?", userId),
        users: sql.run("DELETE FROM users WHERE id = ?", userId),
      },
    };
  },
};

/**
 * Takes the user's reactions off the messages that stay (others' messages in
 * the user's groups); resolves with how many came off.
 */
function takeReactionsOff(sql: Sql, userId: string): number {
  const rows = sql.all<{ id: string; reactions: string }>(
    `SELECT id, reactions FROM messages WHERE conversation_id IN (${GROUPS_OF})
       AND reactions IS NOT NULL AND sender_id <> ?1`,
    userId,
  );
  let taken = 0;
  for (const row of rows) {
    let reactions: Reaction[] = JSON.parse(row.reactions);
    const theirs = reactions.filter((r) => r.userIds.includes(userId));
    if (theirs.length === 0) continue;
    for (const { emoji } of theirs) {
      reactions = withReaction(reactions, userId, emoji, false) ?? reactions;
    }
    taken += theirs.length;
    sql.run(
      "UPDATE messages SET reactions = ? WHERE id = ?",
      reactions.length === 0 ? null : JSON.stringify(reactions),
      row.id,
    );
  }
  return taken;
}
