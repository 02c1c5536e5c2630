/**
 * The body of `GET /api/service/users/{userId}/export`: one JSON document
 * (the `UserExport` schema in service_routes.ts), written as it is read. The
 * long lists (messages, reports, uploads) are read a page at a time through
 * the stores' forward cursors and each page is written out before the next is
 * read, so memory holds one page however long the history; the short ones
 * (blocks, mutes, at most 20 subscriptions) are read whole.
 *
 * The user record is read before the first byte, so a store that does not
 * answer at all gets the usual error response; a failure later can only end
 * the body early (the status is sent by then).
 */
import type { StoreBackend } from "../store/backend.ts";
import type { ChatStore, Report } from "../store/repository.ts";

/** Rows read per store call. */
const PAGE_SIZE = 500;

export interface ExportSources {
  store: ChatStore;
  backend: Pick<StoreBackend, "uploads" | "subscriptions">;
}

export async function exportUser(
  userId: string,
  { store, backend }: ExportSources,
): Promise<ReadableStream<Uint8Array>> {
  const user = await store.users.get(userId);
  const reports = (after?: string) =>
    store.reports.listForUser(userId, { limit: PAGE_SIZE, after });

  async function* document(): AsyncGenerator<string> {
    yield `{"userId":${json(userId)},"exportedAt":${json(new Date().toISOString())},` +
      `"user":${json(user)}`;
    yield* list(
      "messages",
      pages((after) => store.messages.allForUser(userId, { limit: PAGE_SIZE, after })),
    );
    yield* list("reportsFiled", filtered(pages(reports), (r) => r.reporterId === userId));
    yield* list(
      "reportsAgainst",
      filtered(pages(reports), (r) => r.reportedUserId === userId && r.reporterId !== userId),
      // Who reported them, and their words, are the reporter's.
      ({ reporterId: _reporter, note: _note, ...report }: Report) => report,
    );
    yield* list("blocks", once(() => store.blocks.listBlocked(userId)));
    yield* list("mutes", once(() => store.mutes.listForUser(userId)));
    yield* list(
      "pushSubscriptions",
      once(() => backend.subscriptions.listForUser(userId)),
      ({ endpoint, createdAt, expirationTime }) => ({ endpoint, createdAt, expirationTime }),
    );
    yield* list(
      "uploads",
      pages((after) => backend.uploads.listForOwner(userId, { limit: PAGE_SIZE, after })),
      ({ _id, name, mime, kind, size, createdAt, sent }) => ({
        _id,
        name,
        mime,
        kind,
        size,
        createdAt,
        sent,
      }),
    );
    yield "}\n";
  }

  const encoder = new TextEncoder();
  return ReadableStream.from((async function* () {
    for await (const text of document()) yield encoder.encode(text);
  })());
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

/** `,"name":[…]`, one chunk per page. */
async function* list<T>(
  name: string,
  source: AsyncIterable<T[]>,
  shape: (item: T) => unknown = (item) => item,
): AsyncGenerator<string> {
  let first = true;
  yield `,${json(name)}:[`;
  for await (const page of source) {
    if (page.length === 0) continue;
    yield (first ? "" : ",") + page.map((item) => json(shape(item))).join(",");
    first = false;
  }
  yield "]";
}

/** Every page of a forward cursor, until one comes back short. */
async function* pages<T extends { _id: string }>(
  read: (after?: string) => Promise<T[]>,
): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    const page = await read(after);
    yield page;
    if (page.length < PAGE_SIZE) return;
    after = page[page.length - 1]!._id;
  }
}

async function* filtered<T>(
  source: AsyncIterable<T[]>,
  keep: (item: T) => boolean,
): AsyncGenerator<T[]> {
  for await (const page of source) yield page.filter(keep);
}

/** A list read whole, when it is its turn (never a promise left unobserved meanwhile). */
async function* once<T>(read: () => Promise<T[]>): AsyncGenerator<T[]> {
  yield await read();
}
