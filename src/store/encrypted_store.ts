/**
 * Encryption at rest for message content, over any backend: text and file
 * metadata are sealed with AES-256-GCM before the repository sees them and
 * opened again on every read. The stored `text` holds
 * `enc:v1:<keyId>:<iv>:<ciphertext>` (base64), the stored `file` is null.
 * The first key seals; every configured key opens, so keys can be rotated.
 * Sender and receiver are bound in as associated data: a ciphertext moved to
 * another conversation does not open.
 */
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";
import type { ChatStore, MessageRepository, NewMessage } from "./repository.ts";

export interface EncryptionKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

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

const aadOf = (m: { senderId: string; receiverId: string }) => `${m.senderId}\u0000${m.receiverId}`;

/** Wraps `store` so that message content is encrypted at rest; no keys, no change. */
export async function withEncryption(
  store: ChatStore,
  keys: readonly EncryptionKey[],
): Promise<ChatStore> {
  if (keys.length === 0) return store;
  const cipher = await Cipher.create(keys);
  const inner = store.messages;

  const open = async (message: ChatMessage): Promise<ChatMessage> => {
    if (!message.text?.startsWith(PREFIX)) return message; // stored before encryption was on
    const { text, file } = await cipher.open(message.text, aadOf(message));
    return { ...message, text, file };
  };
  const openAll = (messages: ChatMessage[]) => Promise.all(messages.map(open));
  const openMaybe = async (message: ChatMessage | null) => message && await open(message);

  const messages: MessageRepository = {
    async insert(input: NewMessage) {
      const sealed = await cipher.seal({ text: input.text, file: input.file }, aadOf(input));
      const result = await inner.insert({ ...input, text: sealed, file: null });
      return { ...result, message: await open(result.message) };
    },
    get: async (id) => openMaybe(await inner.get(id)),
    history: async (a, b, query) => openAll(await inner.history(a, b, query)),
    listForUser: async (userId, query) => openAll(await inner.listForUser(userId, query)),
    markRead: async (id, at) => openMaybe(await inner.markRead(id, at)),
    markDelivered: async (id, at) => openMaybe(await inner.markDelivered(id, at)),
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
  };
  return { kind: store.kind, users: store.users, messages };
}
