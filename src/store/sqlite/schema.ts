/**
 * The SQLite schema, as numbered migrations. `PRAGMA user_version` holds the
 * number of the last one applied; opening a database applies the rest, each
 * in its own transaction. A migration, once released, is never edited: a
 * change is a new entry at the end.
 *
 * Conversations are their own table with members, so that a group is one
 * more `kind` of conversation: a message belongs to a conversation, and each
 * member's row carries what that member's list shows (the last message, the
 * unread count). A direct conversation is found by `direct_key`, its two user
 * ids in sorted order.
 *
 * Times are ISO-8601 text (what clients see, and readable in `sqlite3`);
 * message ids are ULIDs, so id order is arrival order.
 */

export const MIGRATIONS: readonly string[] = [
  // 1: the chat, uploads and push subscriptions.
  `
  CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    username    TEXT,
    email       TEXT,
    is_online   INTEGER NOT NULL DEFAULT 0,
    last_seen   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  ) WITHOUT ROWID;
  -- The start-up sweep of users a killed process left online.
  CREATE INDEX users_online ON users (id) WHERE is_online = 1;

  CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    direct_key  TEXT UNIQUE,
    created_at  TEXT NOT NULL
  );

  CREATE TABLE conversation_members (
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    user_id          TEXT NOT NULL,
    -- The other user of a direct conversation (null in a group).
    partner_id       TEXT,
    -- Null once every message is deleted: the conversation leaves the list.
    last_message_id  TEXT,
    unread_count     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
  ) WITHOUT ROWID;
  -- A user's conversation list, most recent first.
  CREATE INDEX conversation_members_recent ON conversation_members (user_id, last_message_id);

  CREATE TABLE messages (
    id                 TEXT NOT NULL UNIQUE,
    conversation_id    INTEGER NOT NULL REFERENCES conversations (id),
    sender_id          TEXT NOT NULL,
    receiver_id        TEXT,
    text               TEXT,
    file               TEXT,  -- JSON of the attachment
    client_message_id  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    delivered_at       TEXT,
    read_at            TEXT
  );
  -- History of a conversation by id (time).
  CREATE INDEX messages_history ON messages (conversation_id, id);
  -- Offline catch-up: a receiver's undelivered messages, oldest first.
  CREATE INDEX messages_undelivered ON messages (receiver_id, id) WHERE delivered_at IS NULL;
  -- Idempotent send: one message per sender and client id.
  CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

  -- The client ids of deleted messages: a resend recreates nothing (DELETED).
  CREATE TABLE deleted_client_ids (
    sender_id          TEXT NOT NULL,
    client_message_id  TEXT NOT NULL,
    message_id         TEXT NOT NULL,
    deleted_at         TEXT NOT NULL,
    PRIMARY KEY (sender_id, client_message_id)
  ) WITHOUT ROWID;

  -- Upload records; the bytes are files in UPLOAD_DIR.
  CREATE TABLE uploads (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    sent        INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  -- The retention sweep of uploads never sent, oldest first.
  CREATE INDEX uploads_unsent ON uploads (created_at) WHERE sent = 0;

  -- The messages that carry an upload (their receivers may download it).
  CREATE TABLE upload_refs (
    upload_id    TEXT NOT NULL REFERENCES uploads (id),
    message_id   TEXT NOT NULL,
    receiver_id  TEXT NOT NULL,
    PRIMARY KEY (upload_id, message_id)
  ) WITHOUT ROWID;

  -- Bytes of each owner's upload records: the quota, changed with every record.
  CREATE TABLE upload_usage (
    owner_id  TEXT PRIMARY KEY,
    bytes     INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Web Push subscriptions, one per endpoint (its SHA-256), owned by one user.
  CREATE TABLE push_subscriptions (
    endpoint_id      TEXT PRIMARY KEY,
    endpoint         TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    p256dh           TEXT NOT NULL,
    auth             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expiration_time  INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);
  `,

  // 2: edits, reactions, replies, search, delete-for-me, blocks, reports, mutes (issue 18).
  `
  ALTER TABLE messages ADD COLUMN edited_at TEXT;
  -- JSON [{emoji, userIds}], null when none: read with every message, so kept on its row.
  ALTER TABLE messages ADD COLUMN reactions TEXT;
  -- JSON of the quoted message's snapshot (or {_id, deleted: true} once it is deleted).
  ALTER TABLE messages ADD COLUMN reply_to TEXT;
  ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
  -- A delete finds the replies that quote the message.
  CREATE INDEX messages_reply_to ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;

  -- Delete for me: the message is hidden from this user only.
  CREATE TABLE hidden_messages (
    message_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    hidden_at   TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
  ) WITHOUT ROWID;

  -- Search: one row per message (rowid = the message's rowid, which follows id order), its
  -- text and the tokens of who may find it: u<hex of user id> per participant that has not
  -- hidden it, c<conversation id>. Contentless: the text is stored once, in messages; sealed
  -- text (encryption at rest, 'enc:v1:') is not indexed.
  CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text, owners,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
  WHEN NEW.text IS NOT NULL AND substr(NEW.text, 1, 7) <> 'enc:v1:' BEGIN
    INSERT INTO messages_fts (rowid, text, owners)
    VALUES (NEW.rowid, NEW.text,
      'u' || hex(NEW.sender_id) || ' u' || hex(NEW.receiver_id) || ' c' || NEW.conversation_id);
  END;
  CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = OLD.rowid;
  END;
  -- An edit or a hide writes the row again (a contentless table updates whole rows only).
  CREATE VIEW messages_fts_source AS
    SELECT m.rowid AS rowid, m.text AS text,
      trim(
        iif(EXISTS (SELECT 1 FROM hidden_messages h
                    WHERE h.message_id = m.id AND h.user_id = m.sender_id),
            '', 'u' || hex(m.sender_id)) || ' ' ||
        iif(EXISTS (SELECT 1 FROM hidden_messages h
                    WHERE h.message_id = m.id AND h.user_id = m.receiver_id),
            '', 'u' || hex(m.receiver_id))
      ) || ' c' || m.conversation_id AS owners
    FROM messages m
    WHERE m.text IS NOT NULL AND substr(m.text, 1, 7) <> 'enc:v1:';
  CREATE TRIGGER messages_fts_edit AFTER UPDATE OF text ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = OLD.rowid;
    INSERT INTO messages_fts (rowid, text, owners)
      SELECT rowid, text, owners FROM messages_fts_source WHERE rowid = NEW.rowid;
  END;
  CREATE TRIGGER messages_fts_hide AFTER INSERT ON hidden_messages BEGIN
    DELETE FROM messages_fts WHERE rowid = (SELECT rowid FROM messages WHERE id = NEW.message_id);
    INSERT INTO messages_fts (rowid, text, owners)
      SELECT s.rowid, s.text, s.owners FROM messages_fts_source s
      WHERE s.rowid = (SELECT rowid FROM messages WHERE id = NEW.message_id);
  END;
  INSERT INTO messages_fts (rowid, text, owners) SELECT rowid, text, owners FROM messages_fts_source;

  -- blocker_id blocks blocked_id; the second index answers "who blocks me".
  CREATE TABLE blocks (
    blocker_id  TEXT NOT NULL,
    blocked_id  TEXT NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
  ) WITHOUT ROWID;
  CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);

  -- Reports of messages, with the message's content when reported; one per user and message.
  CREATE TABLE reports (
    id                TEXT PRIMARY KEY,
    message_id        TEXT NOT NULL,
    reporter_id       TEXT NOT NULL,
    reported_user_id  TEXT NOT NULL,
    reason            TEXT NOT NULL,
    note              TEXT,
    text              TEXT,
    file              TEXT,  -- JSON of the attachment
    created_at        TEXT NOT NULL,
    UNIQUE (reporter_id, message_id)
  ) WITHOUT ROWID;

  -- user_id mutes the conversation with partner_id until the time in until (null: until unmuted).
  CREATE TABLE mutes (
    user_id     TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    until       TEXT,
    PRIMARY KEY (user_id, partner_id)
  ) WITHOUT ROWID;
  `,

  // 3: the outbox of webhook calls, Web Push requests and events (issue 17; outbox_operations.ts).
  `
  -- due_at: epoch ms when the entry runs next (a claim moves it a lease ahead); null once
  -- finished, when the row is a tombstone against the id being added again, payload emptied.
  CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    due_at       INTEGER,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX outbox_due ON outbox (due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;
  `,

  // 4: group conversations (issue 19; group_operations.ts). A group is a conversation of kind
  // 'group'; its messages are stored once (receiver_id null), and each member's row holds their
  // read and delivered pointers: nothing is written per member when a message is sent.
  `
  -- group_id: the group's public id (a ULID); name, owner and updated_at are null on direct rows.
  ALTER TABLE conversations ADD COLUMN group_id TEXT;
  ALTER TABLE conversations ADD COLUMN name TEXT;
  ALTER TABLE conversations ADD COLUMN owner_id TEXT;
  ALTER TABLE conversations ADD COLUMN updated_at TEXT;
  -- A group message's group (its public id, as clients see it in groupId); null on 1:1 ones.
  ALTER TABLE messages ADD COLUMN group_id TEXT;
  CREATE UNIQUE INDEX conversations_group ON conversations (group_id) WHERE group_id IS NOT NULL;

  -- A group member's row (null on direct rows): join order (memberIds, the next owner), and the
  -- newest message read and acknowledged. Unread = the group's messages after read_message_id
  -- not sent by the member, counted when the list is read (messages_group below).
  ALTER TABLE conversation_members ADD COLUMN joined_seq INTEGER;
  ALTER TABLE conversation_members ADD COLUMN read_message_id TEXT;
  ALTER TABLE conversation_members ADD COLUMN read_at TEXT;
  ALTER TABLE conversation_members ADD COLUMN delivered_message_id TEXT;
  -- A user's groups.
  CREATE INDEX conversation_members_groups ON conversation_members (user_id, conversation_id)
    WHERE joined_seq IS NOT NULL;
  -- A group's messages after a pointer, with their senders: unread counts and catch-up read
  -- the index only.
  CREATE INDEX messages_group ON messages (conversation_id, id, sender_id)
    WHERE receiver_id IS NULL;

  -- user_id mutes the group (conversation_id) until the time in until (null: until unmuted).
  CREATE TABLE group_mutes (
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id),
    user_id          TEXT NOT NULL,
    until            TEXT,
    PRIMARY KEY (conversation_id, user_id)
  ) WITHOUT ROWID;

  -- Search: a group message is found by its conversation's token only (c<id>): a search asks
  -- for the tokens of the searcher's groups, and hidden messages are left out when read.
  DROP TRIGGER messages_fts_insert;
  CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
  WHEN NEW.text IS NOT NULL AND substr(NEW.text, 1, 7) <> 'enc:v1:' BEGIN
    INSERT INTO messages_fts (rowid, text, owners)
    VALUES (NEW.rowid, NEW.text, iif(NEW.receiver_id IS NULL, 'c' || NEW.conversation_id,
      'u' || hex(NEW.sender_id) || ' u' || hex(NEW.receiver_id) || ' c' || NEW.conversation_id));
  END;
  DROP VIEW messages_fts_source;
  CREATE VIEW messages_fts_source AS
    SELECT m.rowid AS rowid, m.text AS text,
      iif(m.receiver_id IS NULL, '', trim(
        iif(EXISTS (SELECT 1 FROM hidden_messages h
                    WHERE h.message_id = m.id AND h.user_id = m.sender_id),
            '', 'u' || hex(m.sender_id)) || ' ' ||
        iif(EXISTS (SELECT 1 FROM hidden_messages h
                    WHERE h.message_id = m.id AND h.user_id = m.receiver_id),
            '', 'u' || hex(m.receiver_id))
      ) || ' ') || 'c' || m.conversation_id AS owners
    FROM messages m
    WHERE m.text IS NOT NULL AND substr(m.text, 1, 7) <> 'enc:v1:';
  `,

  // 5: search by one key per owner and word (issue 18 item 4: p99 ≤ 20 ms over 1,000,000
  // messages; search_index.ts). messages_fts matched owners and words as separate terms: a
  // common word's posting list spans every user's messages.
  `
  DROP TRIGGER messages_fts_insert;
  DROP TRIGGER messages_fts_delete;
  DROP TRIGGER messages_fts_edit;
  DROP TRIGGER messages_fts_hide;
  DROP VIEW messages_fts_source;
  DROP TABLE messages_fts;

  -- One row per message (rowid = the message's rowid), row ids only: its terms are
  -- <owner>_<word>, made by parley_search_keys (registered by the writer's connection, from
  -- searchWords) for u<hex of user id> of both participants of a 1:1 message, c<conversation
  -- id> of a group message. Sealed text (encryption at rest, 'enc:v1:') is not indexed; hidden
  -- messages are left out when read.
  CREATE VIRTUAL TABLE message_search USING fts5 (
    keys,
    content = '', contentless_delete = 1, detail = none,
    tokenize = "ascii tokenchars '_'"
  );
  -- Merges segments 8 at a time (FTS5's default is 4): about a quarter less of the index's CPU
  -- per insert here; a search reads a few more segments.
  INSERT INTO message_search (message_search, rank) VALUES ('automerge', 8);
  CREATE TRIGGER message_search_insert AFTER INSERT ON messages
  WHEN NEW.text IS NOT NULL AND substr(NEW.text, 1, 7) <> 'enc:v1:' BEGIN
    INSERT INTO message_search (rowid, keys) VALUES (NEW.rowid,
      parley_search_keys(NEW.text, NEW.sender_id, NEW.receiver_id, NEW.conversation_id));
  END;
  CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = OLD.rowid;
  END;
  CREATE TRIGGER message_search_edit AFTER UPDATE OF text ON messages BEGIN
    DELETE FROM message_search WHERE rowid = OLD.rowid;
    INSERT INTO message_search (rowid, keys)
      SELECT NEW.rowid,
        parley_search_keys(NEW.text, NEW.sender_id, NEW.receiver_id, NEW.conversation_id)
      WHERE NEW.text IS NOT NULL AND substr(NEW.text, 1, 7) <> 'enc:v1:';
  END;
  INSERT INTO message_search (rowid, keys)
    SELECT rowid, parley_search_keys(text, sender_id, receiver_id, conversation_id)
    FROM messages WHERE text IS NOT NULL AND substr(text, 1, 7) <> 'enc:v1:';
  `,
];
