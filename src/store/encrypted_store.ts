/**
 * Encryption at rest for message content, over any backend: text and file
 * metadata are sealed with AES-256-GCM before the repository sees them and
 * opened again on every read. The stored `text` holds
 * `enc:v1:<keyId>:<iv>:<ciphertext>` (base64), the stored `file` is null.
 * The first key seals; every configured key opens, so keys can be rotated.
 * Sender and receiver are bound in as associated data: a ciphertext moved to
 * another conversation does not open.
 *
 * Edits are sealed like sends (with the message's file, which an edit keeps);
 * a reply's quote is sealed with the reply's own associated data; a report's
 * copy of the message stays sealed as the message was, opened on reading.
 * Search needs the words in clear, so with encryption it refuses
 * (SEARCH_UNAVAILABLE): the store only ever sees ciphertext. Outbox payloads
 * (webhook bodies, events) are sealed too, with their entry's id bound in.
 */
import type { ChatMessage, FileAttachment, QuotedMessage, ReplyTo } from "../protocol/types.ts";
import type {
  ChatStore,
  MessageRepository,
  NewMessage,
  Report,
  ReportRepository,
} from "./repository.ts";
import type { OutboxStore } from "./outbox_store.ts";
import { encryptedGroups, searchUnavailable } from "./encrypted_groups.ts";
import type { NewGroupMessage } from "./group_store.ts";

export interface EncryptionKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

/** Sealed text starts so; the SQLite search index skips such text (schema.ts, migration 2). */
const PREFIX = "enc:v1:";

interface Sealed {
  text: string | null;
  file: FileAttachment | null;
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

class Cipher {
  private constructor(
    private readonly current: string,
    private readonly keys: Map<string, CryptoKey>,
  ) {}

  static async create(keys: readonly EncryptionKey[]): Promise<Cipher> {
    const imported = new Map<string, CryptoKey>();
    for (const { id, key } of keys) {
      imported.set(
        id,
        await crypto.subtle.importKey("raw", new Uint8Array(key), "AES-GCM", false, [
          "encrypt",
          "decrypt",
        ]),
      );
    }
    return new Cipher(keys[0]!.id, imported);
  }

  async seal(content: Sealed, aad: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = new TextEncoder().encode(JSON.stringify(content));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) },
      this.keys.get(this.current)!,
      data,
    );
    return `${PREFIX}${this.current}:${toBase64(iv)}:${toBase64(new Uint8Array(ciphertext))}`;
  }

  async open(envelope: string, aad: string): Promise<Sealed> {
    const [keyId, iv, ciphertext] = envelope.slice(PREFIX.length).split(":");
    const key = this.keys.get(keyId ?? "");
    if (!key || !iv || !ciphertext) {
      throw new Error(`message sealed with unknown key ${JSON.stringify(keyId)}`);
    }
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(iv), additionalData: new TextEncoder().encode(aad) },
      key,
      fromBase64(ciphertext),
    );
    return JSON.parse(new TextDecoder().decode(plain));
  }
}

/** A 1:1 message binds its two users; a group message its sender and group. */
const aadOf = (m: { senderId: string; receiverId?: string | null; groupId?: string | null }) =>
  m.groupId ? `${m.senderId}\u0000#${m.groupId}` : `${m.senderId}\u0000${m.receiverId}`;

/**
 * Wraps `outbox` so that pending payloads (webhook bodies and events carry
 * message text) are sealed at rest like the messages themselves; no keys, no
 * change. An entry's id is bound in: a payload moved to another entry does not open.
 */
export async function withSealedOutbox(
  outbox: OutboxStore,
  keys: readonly EncryptionKey[],
): Promise<OutboxStore> {
  if (keys.length === 0) return outbox;
  const cipher = await Cipher.create(keys);
  const aad = (id: string) => `outbox\u0000${id}`;
  return {
    finish: (id, now) => outbox.finish(id, now),
    retryAt: (id, dueAt) => outbox.retryAt(id, dueAt),
    nextDue: () => outbox.nextDue(),
    purge: (before) => outbox.purge(before),
    add: async (entries, now) =>
      outbox.add(
        await Promise.all(entries.map(async (entry) => ({
          ...entry,
          payload: await cipher.seal({ text: entry.payload, file: null }, aad(entry.id)),
        }))),
        now,
      ),
    claim: async (now, limit, leaseMs) =>
      Promise.all((await outbox.claim(now, limit, leaseMs)).map(async (entry) => ({
        ...entry,
        // Entries queued before encryption was on are in clear.
        payload: entry.payload.startsWith(PREFIX)
          ? (await cipher.open(entry.payload, aad(entry.id))).text!
          : entry.payload,
      }))),
  };
}

/** Wraps `store` so that message content is encrypted at rest; no keys, no change. */
export async function withEncryption(
  store: ChatStore,
  keys: readonly EncryptionKey[],
): Promise<ChatStore> {
  if (keys.length === 0) return store;
  const cipher = await Cipher.create(keys);
  const inner = store.messages;

  // Quotes of what was sent before encryption was on are stored in clear.
  const sealQuote = async (quote: QuotedMessage, aad: string): Promise<QuotedMessage> => ({
    ...quote,
    text: await cipher.seal({ text: quote.text, file: quote.file as FileAttachment | null }, aad),
    file: null,
  });
  const openQuote = async (quote: ReplyTo | null, aad: string): Promise<ReplyTo | null> => {
    if (quote === null || "deleted" in quote || !quote.text?.startsWith(PREFIX)) return quote;
    const { text, file } = await cipher.open(quote.text, aad);
    return { ...quote, text, file };
  };
  const open = async (message: ChatMessage): Promise<ChatMessage> => {
    const replyTo = await openQuote(message.replyTo, aadOf(message));
    if (!message.text?.startsWith(PREFIX)) return { ...message, replyTo }; // stored before encryption was on
    const { text, file } = await cipher.open(message.text, aadOf(message));
    return { ...message, text, file, replyTo };
  };
  const openAll = (messages: ChatMessage[]) => Promise.all(messages.map(open));
  const sealNew = async <T extends NewMessage | NewGroupMessage>(input: T): Promise<T> => ({
    ...input,
    text: await cipher.seal({ text: input.text, file: input.file }, aadOf(input)),
    file: null,
    replyTo: input.replyTo && await sealQuote(input.replyTo, aadOf(input)),
  });
  const openMaybe = async (message: ChatMessage | null) => message && await open(message);

  const messages: MessageRepository = {
    async insert(input: NewMessage) {
      const result = await inner.insert(await sealNew(input));
      return { ...result, message: await open(result.message) };
    },
    get: async (id) => openMaybe(await inner.get(id)),
    history: async (a, b, query) => openAll(await inner.history(a, b, query)),
    listForUser: async (userId, query) => openAll(await inner.listForUser(userId, query)),
    markRead: async (id, at) => openMaybe(await inner.markRead(id, at)),
    markDelivered: (id, at) => inner.markDelivered(id, at),
    undelivered: async (userId, query) => openAll(await inner.undelivered(userId, query)),
    delete: (id) => inner.delete(id),
    async conversations(userId, query) {
      const rows = await inner.conversations(userId, query);
      return Promise.all(rows.map(async (row) => ({
        ...row,
        lastMessage: await openMaybe(row.lastMessage),
      })));
    },
    partnersOf: (userId) => inner.partnersOf(userId),
    async editMessage(messageId, senderId, text, editedAt, options) {
      const current = await openMaybe(await inner.get(messageId));
      if (!current) return { ok: false, reason: "not_found" };
      // The store refuses (not_sender, too_late) as it would unsealed; the file stays.
      const sealed = await cipher.seal({ text, file: current.file }, aadOf(current));
      const result = await inner.editMessage(messageId, senderId, sealed, editedAt, options);
      return result.ok ? { ok: true, message: await open(result.message) } : result;
    },
    async addReaction(messageId, userId, emoji) {
      const result = await inner.addReaction(messageId, userId, emoji);
      return result.ok ? { ...result, message: await open(result.message) } : result;
    },
    async removeReaction(messageId, userId, emoji) {
      const result = await inner.removeReaction(messageId, userId, emoji);
      return result.ok ? { ...result, message: await open(result.message) } : result;
    },
    search: searchUnavailable,
    async hideForUser(messageId, userId) {
      const result = await inner.hideForUser(messageId, userId);
      return result.ok ? { ...result, message: await open(result.message) } : result;
    },
    allForUser: async (userId, query) => openAll(await inner.allForUser(userId, query)),
  };

  // The report holds the message's content as it was stored: sealed with the message's pair.
  const openReport = async (report: Report): Promise<Report> => {
    if (!report.text?.startsWith(PREFIX)) return report;
    const aad = aadOf({ senderId: report.reportedUserId, receiverId: report.reporterId });
    const { text, file } = await cipher.open(report.text, aad);
    return { ...report, text, file };
  };
  const reports: ReportRepository = {
    async report(input) {
      const result = await store.reports.report(input);
      return result.ok ? { ...result, report: await openReport(result.report) } : result;
    },
    list: async (query) => Promise.all((await store.reports.list(query)).map(openReport)),
    listForUser: async (userId, query) =>
      Promise.all((await store.reports.listForUser(userId, query)).map(openReport)),
  };
  const groups = encryptedGroups(store.groups, { seal: sealNew, open });
  return { ...store, messages, reports, groups };
}
