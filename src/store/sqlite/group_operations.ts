/**
 * Group conversations on SQLite (schema.ts migration 4), merged into the
 * worker's tables in operations.ts. A group is a `conversations` row of kind
 * 'group'; a member is a `conversation_members` row with its join order and
 * its read and delivered pointers. Every change of a group (members, owner,
 * name) is one operation in the writer's transaction, so it is atomic: the
 * owner's successor is chosen in the same step that removes the owner.
 *
 * A message is one `messages` row (receiver_id null, group_id set): a send
 * writes nothing per member. Unread counts are counted when the list is read,
 * from the member's read pointer over the `messages_group` index.
 */
import { AppError } from "../../errors.ts";
import type { ChatMessage } from "../../protocol/types.ts";
import {
  type AddMembersResult,
  type Group,
  type GroupConversationSummary,
  type GroupRead,
  initialMembers,
  type MarkGroupReadResult,
  type NewGroup,
  nextOwner,
  type RemoveMemberResult,
} from "../group_store.ts";
import type { InsertResult } from "../repository.ts";
import {
  AFTER_EVERY_ID,
  insertMessageRow,
  messageById,
  type MessageRow,
  repeatOf,
  toMessage,
  VISIBLE_TO,
} from "./message_rows.ts";
import { conversationOwner, searchIndex } from "./search_index.ts";
import type { Sql } from "./sql.ts";

interface GroupRow {
  id: number;
  group_id: string;
  name: string;
  owner_id: string;
  created_at: string;
  updated_at: string;
}

const GROUP_BY_ID = "SELECT * FROM conversations WHERE group_id = ? AND kind = 'group'";
const IS_MEMBER = `SELECT 1 FROM conversation_members
  WHERE conversation_id = ? AND user_id = ? AND joined_seq IS NOT NULL`;

function groupRow(sql: Sql, groupId: string): GroupRow | undefined {
  return sql.get<GroupRow>(GROUP_BY_ID, groupId);
}

function toGroup(sql: Sql, row: GroupRow): Group {
  const members = sql.all<{ user_id: string }>(
    `SELECT user_id FROM conversation_members
     WHERE conversation_id = ? AND joined_seq IS NOT NULL ORDER BY joined_seq`,
    row.id,
  );
  return {
    _id: row.group_id,
    name: row.name,
    ownerId: row.owner_id,
    memberIds: members.map((m) => m.user_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function isMember(sql: Sql, conversation: number, userId: string): boolean {
  return sql.get(IS_MEMBER, conversation, userId) !== undefined;
}

/** The group's message by id; undefined when it is not one of this group's. */
function groupMessage(sql: Sql, row: GroupRow, messageId: string): MessageRow | undefined {
  const message = messageById(sql, messageId);
  return message?.conversation_id === row.id ? message : undefined;
}

/** Adds members after the current ones, both pointers at the group's newest message. */
function join(sql: Sql, conversation: number, userIds: readonly string[]): void {
  const { seq, newest } = sql.get<{ seq: number; newest: string | null }>(
    `SELECT
       (SELECT coalesce(max(joined_seq), 0) FROM conversation_members WHERE conversation_id = ?1)
         AS seq,
       (SELECT max(id) FROM messages WHERE conversation_id = ?1) AS newest`,
    conversation,
  )!;
  userIds.forEach((userId, i) =>
    sql.run(
      `INSERT INTO conversation_members
         (conversation_id, user_id, joined_seq, read_message_id, delivered_message_id)
       VALUES (?1, ?2, ?3, ?4, ?4)`,
      conversation,
      userId,
      seq + i + 1,
      newest,
    )
  );
}

export const groupWrites = {
  createGroup(sql: Sql, a: { id: string; input: NewGroup }): Group {
    const { input } = a;
    const row = sql.get<GroupRow>(
      `INSERT INTO conversations (kind, group_id, name, owner_id, created_at, updated_at)
       VALUES ('group', ?, ?, ?, ?4, ?4) RETURNING *`,
      a.id,
      input.name,
      input.ownerId,
      input.createdAt,
    )!;
    join(sql, row.id, initialMembers(input));
    return toGroup(sql, row);
  },

  addGroupMembers(
    sql: Sql,
    a: { groupId: string; userIds: readonly string[]; at: string; maxMembers?: number },
  ): AddMembersResult {
    const row = groupRow(sql, a.groupId);
    if (!row) return { ok: false, reason: "not_found" };
    const group = toGroup(sql, row);
    const added = [...new Set(a.userIds)].filter((id) => !group.memberIds.includes(id));
    if (a.maxMembers !== undefined && group.memberIds.length + added.length > a.maxMembers) {
      return { ok: false, reason: "too_many_members" };
    }
    if (added.length === 0) return { ok: true, group, added };
    join(sql, row.id, added);
    sql.run("UPDATE conversations SET updated_at = ? WHERE id = ?", a.at, row.id);
    return { ok: true, group: toGroup(sql, { ...row, updated_at: a.at }), added };
  },

  removeGroupMember(
    sql: Sql,
    a: { groupId: string; userId: string; at: string },
  ): RemoveMemberResult | null {
    const row = groupRow(sql, a.groupId);
    if (!row) return null;
    const group = toGroup(sql, row);
    if (!group.memberIds.includes(a.userId)) return { group, removed: false };
    sql.run(
      "DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?",
      row.id,
      a.userId,
    );
    sql.run("DELETE FROM group_mutes WHERE conversation_id = ? AND user_id = ?", row.id, a.userId);
    const ownerId = nextOwner(group, a.userId);
    sql.run(
      "UPDATE conversations SET owner_id = ?, updated_at = ? WHERE id = ?",
      ownerId,
      a.at,
      row.id,
    );
    return {
      group: toGroup(sql, { ...row, owner_id: ownerId, updated_at: a.at }),
      removed: true,
    };
  },

  renameGroup(sql: Sql, a: { groupId: string; name: string; at: string }): Group | null {
    const row = sql.get<GroupRow>(
      `UPDATE conversations SET name = ?, updated_at = ? WHERE group_id = ? AND kind = 'group'
       RETURNING *`,
      a.name,
      a.at,
      a.groupId,
    );
    return row ? toGroup(sql, row) : null;
  },

  /** The membership check runs in the same transaction as the insert: a removed member cannot send. */
  insertGroupMessage(sql: Sql, { message: m }: { message: ChatMessage }): InsertResult {
    const repeat = repeatOf(sql, m);
    if (repeat) return repeat;
    const row = groupRow(sql, m.groupId!);
    if (!row) throw new AppError("NOT_FOUND", "No such group");
    if (!isMember(sql, row.id, m.senderId)) {
      throw new AppError("FORBIDDEN", "Only members may send to a group");
    }
    insertMessageRow(sql, m, row.id);
    return { message: m, duplicate: false };
  },

  /** Read implies delivered: the delivered pointer moves up to the read one too. */
  markGroupRead(
    sql: Sql,
    a: { groupId: string; userId: string; messageId: string; at: string },
  ): MarkGroupReadResult {
    const row = groupRow(sql, a.groupId);
    if (!row || !groupMessage(sql, row, a.messageId)) return { ok: false, reason: "not_found" };
    if (!isMember(sql, row.id, a.userId)) return { ok: false, reason: "not_member" };
    const moved = sql.run(
      `UPDATE conversation_members SET read_message_id = ?3, read_at = ?4,
         delivered_message_id = max(coalesce(delivered_message_id, ''), ?3)
       WHERE conversation_id = ?1 AND user_id = ?2 AND coalesce(read_message_id, '') < ?3`,
      row.id,
      a.userId,
      a.messageId,
      a.at,
    ) > 0;
    const pointer = sql.get<{ read_message_id: string; read_at: string | null }>(
      "SELECT read_message_id, read_at FROM conversation_members WHERE conversation_id = ? AND user_id = ?",
      row.id,
      a.userId,
    )!;
    // A pointer set at join time has no read time: the join's messages were never read.
    return {
      ok: true,
      moved,
      messageId: pointer.read_message_id,
      readAt: pointer.read_at ?? a.at,
    };
  },

  acknowledgeGroup(sql: Sql, a: { groupId: string; userId: string; messageId: string }): boolean {
    const row = groupRow(sql, a.groupId);
    if (!row || !groupMessage(sql, row, a.messageId)) return false;
    return sql.run(
      `UPDATE conversation_members SET delivered_message_id = ?3
       WHERE conversation_id = ?1 AND user_id = ?2 AND joined_seq IS NOT NULL
         AND coalesce(delivered_message_id, '') < ?3`,
      row.id,
      a.userId,
      a.messageId,
    ) > 0;
  },

  muteGroup(sql: Sql, a: { groupId: string; userId: string; until: string | null }): void {
    const row = groupRow(sql, a.groupId);
    if (!row) return;
    sql.run("INSERT OR REPLACE INTO group_mutes VALUES (?, ?, ?)", row.id, a.userId, a.until);
  },

  unmuteGroup(sql: Sql, a: { groupId: string; userId: string }): boolean {
    const row = groupRow(sql, a.groupId);
    if (!row) return false;
    return sql.run(
      "DELETE FROM group_mutes WHERE conversation_id = ? AND user_id = ?",
      row.id,
      a.userId,
    ) > 0;
  },
};

export const groupReads = {
  getGroup(sql: Sql, a: { groupId: string }): Group | null {
    const row = groupRow(sql, a.groupId);
    return row ? toGroup(sql, row) : null;
  },

  groupsOf(sql: Sql, a: { userId: string }): Group[] {
    return sql.all<GroupRow>(
      `SELECT c.* FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
       WHERE cm.user_id = ? AND cm.joined_seq IS NOT NULL
       ORDER BY c.updated_at DESC, c.id DESC`,
      a.userId,
    ).map((row) => toGroup(sql, row));
  },

  isGroupMember(sql: Sql, a: { groupId: string; userId: string }): boolean {
    const row = groupRow(sql, a.groupId);
    return row !== undefined && isMember(sql, row.id, a.userId);
  },

  /** Newest first, `skip` then `limit`, older than `before` (the repository reverses it). */
  groupHistory(
    sql: Sql,
    a: { groupId: string; limit: number; skip: number; before?: string; viewerId?: string },
  ): ChatMessage[] {
    const row = groupRow(sql, a.groupId);
    if (!row) return [];
    return sql.all<MessageRow>(
      `SELECT * FROM messages m WHERE conversation_id = ?1 AND id < ?2
         AND (?5 IS NULL OR ${VISIBLE_TO("?5")})
       ORDER BY id DESC LIMIT ?3 OFFSET ?4`,
      row.id,
      a.before ?? AFTER_EVERY_ID,
      a.limit,
      a.skip,
      a.viewerId ?? null,
    ).map(toMessage);
  },

  /**
   * The user's `limit` most recent groups with their rows. Each group's newest
   * visible message and unread count are one index range each: a user's
   * groups are few next to the messages sent in them.
   */
  groupConversations(
    sql: Sql,
    a: { userId: string; limit: number; at: string },
  ): GroupConversationSummary[] {
    type Membership = GroupRow & { read_message_id: string | null };
    const memberships = sql.all<Membership>(
      `SELECT c.*, cm.read_message_id FROM conversation_members cm
       JOIN conversations c ON c.id = cm.conversation_id
       WHERE cm.user_id = ? AND cm.joined_seq IS NOT NULL`,
      a.userId,
    );
    const rows = memberships.map((membership) => {
      const last = sql.get<MessageRow>(
        `SELECT * FROM messages m WHERE conversation_id = ?1 AND ${VISIBLE_TO("?2")}
         ORDER BY id DESC LIMIT 1`,
        membership.id,
        a.userId,
      );
      return { membership, last, at: last?.created_at ?? membership.created_at };
    });
    rows.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
    return rows.slice(0, a.limit).map(({ membership, last }) => {
      const { n } = sql.get<{ n: number }>(
        `SELECT count(*) AS n FROM messages m
         WHERE conversation_id = ?1 AND receiver_id IS NULL AND id > ?2 AND sender_id <> ?3
           AND ${VISIBLE_TO("?3")}`,
        membership.id,
        membership.read_message_id ?? "",
        a.userId,
      )!;
      const mute = sql.get<{ until: string | null }>(
        "SELECT until FROM group_mutes WHERE conversation_id = ? AND user_id = ? AND (until IS NULL OR until > ?)",
        membership.id,
        a.userId,
        a.at,
      );
      return {
        group: toGroup(sql, membership),
        lastMessage: last ? toMessage(last) : null,
        unreadCount: n,
        muted: mute !== undefined,
        mutedUntil: mute?.until ?? null,
      };
    });
  },

  groupReads(sql: Sql, a: { groupId: string; messageId: string }): GroupRead[] {
    const row = groupRow(sql, a.groupId);
    const message = row && groupMessage(sql, row, a.messageId);
    if (!row || !message) return [];
    return sql.all<{ user_id: string; read_at: string }>(
      `SELECT user_id, read_at FROM conversation_members
       WHERE conversation_id = ? AND joined_seq IS NOT NULL AND read_message_id >= ?
         AND read_at IS NOT NULL AND user_id <> ?
       ORDER BY joined_seq`,
      row.id,
      message.id,
      message.sender_id,
    ).map((r) => ({ userId: r.user_id, readAt: r.read_at }));
  },

  /** Oldest first across the user's groups, each from its delivered pointer (messages_group). */
  groupUndelivered(
    sql: Sql,
    a: { userId: string; limit: number; after?: string },
  ): ChatMessage[] {
    return sql.all<MessageRow>(
      `SELECT m.* FROM conversation_members cm
       JOIN messages m ON m.conversation_id = cm.conversation_id AND m.receiver_id IS NULL
         AND m.id > max(coalesce(cm.delivered_message_id, ''), ?2)
       WHERE cm.user_id = ?1 AND cm.joined_seq IS NOT NULL AND m.sender_id <> ?1
         AND ${VISIBLE_TO("?1")}
       ORDER BY m.id LIMIT ?3`,
      a.userId,
      a.after ?? "",
      a.limit,
    ).map(toMessage);
  },

  /** Newest first over the search keys of the user's groups (or the one asked for). */
  searchGroups(
    sql: Sql,
    a: { userId: string; q: string; groupId?: string; limit: number; before?: string },
  ): ChatMessage[] {
    const owners = sql.all<{ id: number }>(
      `SELECT c.id FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
       WHERE cm.user_id = ?1 AND cm.joined_seq IS NOT NULL AND (?2 IS NULL OR c.group_id = ?2)`,
      a.userId,
      a.groupId ?? null,
    ).map((row) => conversationOwner(row.id));
    return searchIndex(sql, {
      q: a.q,
      owners,
      viewerId: a.userId,
      limit: a.limit,
      before: a.before,
    });
  },

  isGroupMuted(sql: Sql, a: { groupId: string; userId: string; at: string }): boolean {
    return sql.get(
      `SELECT 1 FROM group_mutes g JOIN conversations c ON c.id = g.conversation_id
       WHERE c.group_id = ? AND g.user_id = ? AND (g.until IS NULL OR g.until > ?)`,
      a.groupId,
      a.userId,
      a.at,
    ) !== undefined;
  },
};
