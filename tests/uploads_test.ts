/**
 * Attachments end to end: uploads over real HTTP on a real server, stored in
 * the test's store (a local directory with SQLite; GridFS with
 * TEST_STORE=mongo), downloads with ranges, the send rule and the clean-ups.
 */
import { MongoClient } from "mongodb";
import { loadConfig } from "../src/config.ts";
import { detectType } from "../src/uploads/content_type.ts";
import { contentDisposition } from "../src/http/uploads_routes.ts";
import type { UploadRecord } from "../src/store/upload_store.ts";
import { parseRange } from "../src/uploads/range.ts";
import { fileName } from "../src/uploads/upload_service.ts";
import type { FileAttachment } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { chunked, ELF, PDF, PNG, text } from "./helpers/files.ts";
import {
  type ChatClient,
  delay,
  MONGODB_URI,
  startTestServer,
  TEST_STORE,
  type TestServer,
} from "./helpers/server.ts";

let databases = 0;

/** `await using` closes the server and removes its upload directory. */
interface UploadServer extends AsyncDisposable {
  server: TestServer;
  /** Files (SQLite: in UPLOAD_DIR; MongoDB: GridFS documents) the server holds. */
  stored(): Promise<number>;
  close(): Promise<void>;
}

async function startUploadServer(env: Record<string, string> = {}): Promise<UploadServer> {
  const dir = await Deno.makeTempDir({ prefix: "parley-uploads-" });
  const db = `parley_up_${Date.now()}_${databases++}`;
  const server = await startTestServer({
    UPLOAD_DIR: dir,
    ...(TEST_STORE === "mongo" ? { MONGODB_DB: db } : {}),
    ...env,
  });
  const close = async () => {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  };
  return {
    server,
    async stored() {
      if (TEST_STORE === "sqlite") return await countFiles(dir);
      const client = new MongoClient(MONGODB_URI!);
      try {
        const database = client.db(db);
        return await database.collection("uploads.files").countDocuments() +
          await database.collection("uploads.chunks").countDocuments();
      } finally {
        await client.close();
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) count += await countFiles(`${dir}/${entry.name}`);
    else count++;
  }
  return count;
}

async function upload(
  server: TestServer,
  userId: string,
  body: BodyInit,
  { name, type }: { name?: string; type?: string } = {},
): Promise<{ status: number; body: FileAttachment & { code?: string; error?: string } }> {
  const query = name ? `?name=${encodeURIComponent(name)}` : "";
  const headers: Record<string, string> = type ? { "content-type": type } : {};
  const res = await server.api(userId, `/api/uploads${query}`, { method: "POST", body, headers });
  return { status: res.status, body: await res.json() };
}

/**
 * Uploads of the given sizes as a raw body with Content-Length, a chunked
 * stream without one, and a multipart form: each is refused with 413 and `code`.
 */
async function assertRefusedEveryWay(
  server: TestServer,
  userId: string,
  code: string,
  bytes: { declared: number; streamed: number; multipart: number },
) {
  const declared = await upload(server, userId, text(bytes.declared));
  assertEquals([declared.status, declared.body.code], [413, code], "with Content-Length");
  const streamed = await upload(server, userId, chunked(text(bytes.streamed)));
  assertEquals([streamed.status, streamed.body.code], [413, code], "streamed");
  const form = new FormData();
  form.append("file", new Blob([text(bytes.multipart)]), "big.txt");
  const multipart = await upload(server, userId, form);
  assertEquals([multipart.status, multipart.body.code], [413, code], "multipart");
}

async function uploaded(server: TestServer, userId: string, body: BodyInit, name?: string) {
  const res = await upload(server, userId, body, { name });
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return res.body as FileAttachment;
}

function pathOf(file: FileAttachment): string {
  return new URL(file.url).pathname;
}

async function sendFile(client: ChatClient, receiverId: string, file: FileAttachment) {
  return await client.timeout(3000).emitWithAck("sendMessage", { receiverId, file });
}

async function sent(client: ChatClient, receiverId: string, file: FileAttachment) {
  const ack = await sendFile(client, receiverId, file);
  assert(ack.ok, JSON.stringify(ack));
  return ack.message;
}

Deno.test("POST /api/uploads stores raw and multipart bodies, typed from their bytes", async (t) => {
  await using uploads = await startUploadServer();
  const { server } = uploads;
  await t.step(
    "a raw body: the declared type is ignored, the name comes from ?name=",
    async () => {
      const res = await upload(server, "alice", PNG, {
        name: "dot.png",
        type: "application/pdf",
      });
      assertEquals(res.status, 201);
      assertEquals(res.body.type, "image");
      assertEquals(res.body.name, "dot.png");
      assertEquals(res.body.size, PNG.length);
      assert(res.body.url.startsWith(`${server.url}/api/uploads/`), res.body.url);
      const got = await server.api("alice", pathOf(res.body));
      assertEquals(got.headers.get("content-type"), "image/png");
      assertEquals(new Uint8Array(await got.arrayBuffer()), PNG);
    },
  );

  await t.step("a multipart file part, with its own file name", async () => {
    const form = new FormData();
    form.append("caption", "ignored");
    form.append("file", new Blob([PDF], { type: "image/png" }), "menu ü.pdf");
    const res = await upload(server, "alice", form);
    assertEquals(res.status, 201, JSON.stringify(res.body));
    assertEquals(res.body.type, "document");
    assertEquals(res.body.name, "menu ü.pdf");
    assertEquals(res.body.size, PDF.length);
    const got = await server.api("alice", pathOf(res.body));
    assertEquals(got.headers.get("content-type"), "application/pdf");
    assertEquals(
      got.headers.get("content-disposition"),
      `attachment; filename="menu _.pdf"; filename*=UTF-8''menu%20%C3%BC.pdf`,
    );
    await got.body?.cancel();
  });

  await t.step(
    "text is text/plain, and a name that would open as a page is made .txt",
    async () => {
      // Markup itself is refused (next test); plain text under a page's name is kept.
      const res = await upload(server, "alice", "notes, not a page\n", {
        name: "page.html",
        type: "text/html",
      });
      assertEquals(res.status, 201);
      assertEquals(res.body.type, "document");
      assertEquals(res.body.name, "page.html.txt");
      const got = await server.api("alice", pathOf(res.body));
      assertEquals(got.headers.get("content-type"), "text/plain");
      assertEquals(got.headers.get("x-content-type-options"), "nosniff");
      assertEquals(got.headers.get("content-disposition")?.startsWith("attachment;"), true);
      await got.body?.cancel();
    },
  );

  await t.step("no token, no upload", async () => {
    const res = await fetch(`${server.url}/api/uploads`, { method: "POST", body: PNG });
    assertEquals(res.status, 401);
    assertEquals((await res.json()).code, "UNAUTHORIZED");
  });
});

Deno.test("POST /api/uploads refuses types off the allowlist, empty and oversized files, keeping nothing", async (t) => {
  await using uploads = await startUploadServer({ UPLOAD_MAX_BYTES: "100000" });
  const { server, stored } = uploads;
  await t.step("an executable or a zip archive: 415 UNSUPPORTED_TYPE", async () => {
    const elf = await upload(server, "alice", ELF, { name: "notes.txt", type: "text/plain" });
    assertEquals([elf.status, elf.body.code], [415, "UNSUPPORTED_TYPE"]);
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...text(100)]);
    const res = await upload(server, "alice", zip, { type: "application/pdf" });
    assertEquals([res.status, res.body.code], [415, "UNSUPPORTED_TYPE"]);
  });

  await t.step(
    "an SVG with a script, an HTML page, XML: 415, whatever the declared type",
    async () => {
      const pages = {
        "logo.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "page.html": "\uFEFF\n  <!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        "notes.txt": "<html><p>hi</p></html>",
        "feed.xml": '<?xml version="1.0"?><rss></rss>',
        "comment.txt": "<!-- hidden --><b>bold</b>",
      };
      for (const [name, body] of Object.entries(pages)) {
        const res = await upload(server, "alice", body, { name, type: "text/plain" });
        assertEquals([name, res.status, res.body.code], [name, 415, "UNSUPPORTED_TYPE"]);
      }
    },
  );

  await t.step("an empty body: 400", async () => {
    const res = await upload(server, "alice", new Uint8Array(0));
    assertEquals([res.status, res.body.code], [400, "VALIDATION_ERROR"]);
  });

  await t.step("over UPLOAD_MAX_BYTES: 413, with or without Content-Length", async () => {
    await assertRefusedEveryWay(server, "alice", "PAYLOAD_TOO_LARGE", {
      declared: 100_001,
      streamed: 300_000,
      multipart: 150_000,
    });
  });

  await t.step("a malformed multipart body: 400", async () => {
    const res = await upload(server, "alice", "--x\r\nnot a part", {
      type: "multipart/form-data; boundary=x",
    });
    assertEquals([res.status, res.body.code], [400, "VALIDATION_ERROR"]);
    const noBoundary = await upload(server, "alice", "x", { type: "multipart/form-data" });
    assertEquals([noBoundary.status, noBoundary.body.code], [400, "VALIDATION_ERROR"]);
  });

  await t.step("nothing of any refused upload was kept", async () => {
    assertEquals(await stored(), 0);
    // Exactly at the limit is fine.
    await uploaded(server, "alice", chunked(text(100_000)), "exact.txt");
    assert(await stored() > 0);
  });
});

Deno.test("GET /api/uploads/:id serves the uploader and receivers only, whole or in ranges", async (t) => {
  await using uploads = await startUploadServer();
  const { server } = uploads;
  const alice = await server.connect("alice");
  await server.connect("bob");
  // Larger than a GridFS chunk (255 KiB), so ranges cross chunk boundaries.
  const bytes = text(600_000);
  const file = await uploaded(server, "alice", bytes, "long.txt");
  const path = pathOf(file);

  await t.step("before any message: the uploader only", async () => {
    const mine = await server.api("alice", path);
    assertEquals(mine.status, 200);
    assertEquals(mine.headers.get("content-length"), String(bytes.length));
    assertEquals(mine.headers.get("accept-ranges"), "bytes");
    assertEquals(new Uint8Array(await mine.arrayBuffer()), bytes);
    for (const user of ["bob", "carol"]) {
      const res = await server.api(user, path);
      assertEquals([res.status, (await res.json()).code], [403, "FORBIDDEN"]);
    }
  });

  await t.step("after a message carrying it: its receiver too, nobody else", async () => {
    await sent(alice, "bob", file);
    const bobs = await server.api("bob", path);
    assertEquals(bobs.status, 200);
    assertEquals(new Uint8Array(await bobs.arrayBuffer()), bytes);
    const carols = await server.api("carol", path);
    assertEquals(carols.status, 403);
    await carols.body?.cancel();
  });

  await t.step("ranges: 206 with Content-Range, across chunk boundaries", async () => {
    const cases: [string, number, number][] = [
      ["bytes=0-9", 0, 9],
      ["bytes=261115-261125", 261_115, 261_125],
      ["bytes=599990-", 599_990, 599_999],
      ["bytes=-5", 599_995, 599_999],
      ["bytes=599998-700000", 599_998, 599_999],
    ];
    for (const [range, start, end] of cases) {
      const res = await server.api("bob", path, { headers: { range } });
      assertEquals(res.status, 206, range);
      assertEquals(res.headers.get("content-range"), `bytes ${start}-${end}/${bytes.length}`);
      assertEquals(res.headers.get("content-length"), String(end - start + 1));
      assertEquals(new Uint8Array(await res.arrayBuffer()), bytes.slice(start, end + 1), range);
    }
  });

  await t.step("a range outside the file: 416; a malformed one: the whole file", async () => {
    const outside = await server.api("bob", path, { headers: { range: "bytes=600000-" } });
    assertEquals(outside.status, 416);
    assertEquals(outside.headers.get("content-range"), `bytes */${bytes.length}`);
    assertEquals((await outside.json()).code, "RANGE_NOT_SATISFIABLE");
    const malformed = await server.api("bob", path, { headers: { range: "bytes=a-b" } });
    assertEquals(malformed.status, 200);
    await malformed.body?.cancel();
  });

  await t.step("HEAD, ETag and If-None-Match", async () => {
    const head = await server.api("bob", path, { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(head.headers.get("content-length"), String(bytes.length));
    const etag = head.headers.get("etag")!;
    const again = await server.api("bob", path, { headers: { "if-none-match": etag } });
    assertEquals(again.status, 304);
  });

  await t.step("an unknown id: 404; no token: 401", async () => {
    const unknown = await server.api("alice", "/api/uploads/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assertEquals([unknown.status, (await unknown.json()).code], [404, "NOT_FOUND"]);
    const junk = await server.api("alice", "/api/uploads/..%2f..%2fetc%2fpasswd");
    assertEquals(junk.status, 404);
    await junk.body?.cancel();
    const anonymous = await fetch(`${server.url}${path}`);
    assertEquals(anonymous.status, 401);
    await anonymous.body?.cancel();
  });
});

Deno.test("sendMessage takes a file URL of this server only from its uploader; other URLs pass", async (t) => {
  await using uploads = await startUploadServer();
  const { server } = uploads;
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const file = await uploaded(server, "alice", PNG, "dot.png");

  await t.step("someone else's upload: FORBIDDEN, nothing stored", async () => {
    const ack = await sendFile(bob, "alice", file);
    assert(!ack.ok);
    assertEquals(ack.code, "FORBIDDEN");
    const history = await server.api("bob", "/api/chats/history/alice");
    assertEquals(await history.json(), []);
  });

  await t.step("an upload that does not exist: NOT_FOUND", async () => {
    for (const id of ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-an-id"]) {
      const ack = await sendFile(alice, "bob", {
        ...file,
        url: `${server.url}/api/uploads/${id}`,
      });
      assert(!ack.ok);
      assertEquals(ack.code, "NOT_FOUND");
    }
  });

  await t.step("the uploader's own: accepted, with the stored type and size", async () => {
    const message = await sent(alice, "bob", { ...file, type: "video", size: 999_999 });
    assertEquals(message.file, { ...file, type: "image", size: PNG.length });
  });

  await t.step("an external http(s) URL: unchanged, as in the brief", async () => {
    const external = {
      url: "https://files.example.com/menu.pdf",
      type: "document",
      name: "menu.pdf",
      size: 2048,
    } as const;
    const message = await sent(bob, "alice", external);
    assertEquals(message.file, external);
  });
});

Deno.test("PUBLIC_URL: upload URLs use it, and only URLs on it count as this server's", async () => {
  await using uploads = await startUploadServer({ PUBLIC_URL: "https://chat.example.com/" });
  const { server } = uploads;
  const alice = await server.connect("alice");
  await server.connect("bob");
  const file = await uploaded(server, "alice", PNG, "dot.png");
  assert(file.url.startsWith("https://chat.example.com/api/uploads/"), file.url);
  await sent(alice, "bob", file);
  // Same path on another host: someone else's server, not checked here.
  const elsewhere = { ...file, url: `https://other.example.com${pathOf(file)}` };
  const message = await sent(alice, "bob", elsewhere);
  assertEquals(message.file, elsewhere);
});

Deno.test("deleting a message deletes its upload once no other message carries it", async () => {
  await using uploads = await startUploadServer();
  const { server, stored } = uploads;
  const alice = await server.connect("alice");
  await server.connect("bob");
  await server.connect("carol");
  const file = await uploaded(server, "alice", PDF, "menu.pdf");
  const toBob = await sent(alice, "bob", file);
  const toCarol = await sent(alice, "carol", file);

  const deleted = await server.api("alice", `/api/chats/${toBob._id}`, { method: "DELETE" });
  assertEquals(deleted.status, 200);
  await deleted.body?.cancel();
  // Bob's only message with it is gone; Carol's is still there.
  const bobs = await server.api("bob", pathOf(file));
  assertEquals(bobs.status, 403);
  await bobs.body?.cancel();
  const carols = await server.api("carol", pathOf(file));
  assertEquals(carols.status, 200);
  await carols.body?.cancel();

  const last = await server.api("alice", `/api/chats/${toCarol._id}`, { method: "DELETE" });
  assertEquals(last.status, 200);
  await last.body?.cancel();
  const gone = await server.api("alice", pathOf(file));
  assertEquals(gone.status, 404);
  await gone.body?.cancel();
  assertEquals(await stored(), 0);
});

Deno.test("uploads never sent are removed after UPLOAD_RETENTION_MS; sent ones stay", async () => {
  await using uploads = await startUploadServer({ UPLOAD_RETENTION_MS: "300" });
  const { server, stored } = uploads;
  const alice = await server.connect("alice");
  await server.connect("bob");
  const kept = await uploaded(server, "alice", PNG, "kept.png");
  await sent(alice, "bob", kept);
  const dropped = await uploaded(server, "alice", PDF, "dropped.pdf");
  await waitFor(async () => {
    const res = await server.api("alice", pathOf(dropped));
    await res.body?.cancel();
    return res.status === 404;
  }, "the unsent upload to be removed");
  const res = await server.api("bob", pathOf(kept));
  assertEquals(res.status, 200);
  assertEquals(new Uint8Array(await res.arrayBuffer()), PNG);
  const ack = await sendFile(alice, "bob", dropped);
  assert(!ack.ok);
  assertEquals(ack.code, "NOT_FOUND");
  assert(await stored() > 0);
});

Deno.test("POST /api/uploads refuses a file that would take its uploader past UPLOAD_QUOTA_BYTES, keeping nothing", async (t) => {
  await using uploads = await startUploadServer({ UPLOAD_QUOTA_BYTES: "100000" });
  const { server, stored } = uploads;
  await uploaded(server, "alice", text(60_000), "first.txt");
  const kept = await stored();

  await t.step("past the quota: 413 QUOTA_EXCEEDED, with or without Content-Length", async () => {
    // Streamed: more than the server sniffs before storing (64 KiB), so cut while it streams in.
    await assertRefusedEveryWay(server, "alice", "QUOTA_EXCEEDED", {
      declared: 50_000,
      streamed: 90_000,
      multipart: 50_000,
    });
    assertEquals(await stored(), kept);
  });

  await t.step("up to the quota exactly: stored; one byte more: 413", async () => {
    await uploaded(server, "alice", text(40_000), "rest.txt");
    const more = await upload(server, "alice", "a");
    assertEquals([more.status, more.body.code], [413, "QUOTA_EXCEEDED"]);
  });

  await t.step("each user has a quota of their own", async () => {
    await uploaded(server, "bob", text(100_000), "bobs.txt");
  });
});

Deno.test("an upload's bytes count against the quota until it is removed with its last message or unsent", async (t) => {
  await t.step(
    "sent, it counts; once the message carrying it is deleted, it does not",
    async () => {
      await using uploads = await startUploadServer({ UPLOAD_QUOTA_BYTES: "100000" });
      const { server } = uploads;
      const alice = await server.connect("alice");
      await server.connect("bob");
      const message = await sent(alice, "bob", await uploaded(server, "alice", text(60_000)));
      const refused = await upload(server, "alice", text(60_000));
      assertEquals([refused.status, refused.body.code], [413, "QUOTA_EXCEEDED"]);
      const deleted = await server.api("alice", `/api/chats/${message._id}`, {
        method: "DELETE",
      });
      assertEquals(deleted.status, 200);
      await deleted.body?.cancel();
      await uploaded(server, "alice", text(60_000));
    },
  );

  await t.step("never sent, it counts until UPLOAD_RETENTION_MS removes it", async () => {
    await using uploads = await startUploadServer({
      UPLOAD_QUOTA_BYTES: "100000",
      UPLOAD_RETENTION_MS: "1000",
    });
    const { server } = uploads;
    const unsent = await uploaded(server, "alice", text(60_000));
    const refused = await upload(server, "alice", text(60_000));
    assertEquals([refused.status, refused.body.code], [413, "QUOTA_EXCEEDED"]);
    await waitFor(async () => {
      const res = await server.api("alice", pathOf(unsent));
      await res.body?.cancel();
      return res.status === 404;
    }, "the unsent upload to be removed");
    await uploaded(server, "alice", text(60_000));
  });
});

Deno.test("concurrent uploads of one user that together exceed the quota: exactly those that fit are kept", async () => {
  await using uploads = await startUploadServer({ UPLOAD_QUOTA_BYTES: "350000" });
  const { server, stored } = uploads;
  // Each body sends more than the server sniffs (64 KiB) and then waits until
  // every upload is under way, so that each starts with the whole quota free
  // and only the check where it is committed can keep the total within it.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  let waiting = 0;
  const gated = () => {
    let step = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(text(70_000));
        else if (step === 1) {
          waiting++;
          await gate;
          controller.enqueue(text(30_000));
        } else controller.close();
        step++;
      },
    });
  };
  const results = Promise.all(
    Array.from({ length: 5 }, () => upload(server, "alice", gated())),
  );
  await waitFor(() => waiting === 5, "every upload to be under way");
  await delay(100); // for the server to read each head and start storing
  open();
  const outcomes = (await results).map((res) => `${res.status} ${res.body.code ?? ""}`.trim());
  assertEquals(outcomes.toSorted(), [
    "201",
    "201",
    "201",
    "413 QUOTA_EXCEEDED",
    "413 QUOTA_EXCEEDED",
  ]);
  // A file each (SQLite); a file document and its one chunk each (GridFS).
  assertEquals(await stored(), 3 * (TEST_STORE === "sqlite" ? 1 : 2));
  // 300,000 bytes used: what is left fits, and not a byte more.
  await uploaded(server, "alice", text(50_000));
  const more = await upload(server, "alice", "a");
  assertEquals([more.status, more.body.code], [413, "QUOTA_EXCEEDED"]);
});

Deno.test("parseRange() reads one byte range and refuses ranges outside the file", () => {
  assertEquals(parseRange(undefined, 100), undefined);
  assertEquals(parseRange("bytes=0-0", 100), { start: 0, end: 0 });
  assertEquals(parseRange("bytes=10-", 100), { start: 10, end: 99 });
  assertEquals(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=-500", 100), { start: 0, end: 99 });
  assertEquals(parseRange("bytes=50-5000", 100), { start: 50, end: 99 });
  assertEquals(parseRange("bytes=100-", 100), null);
  assertEquals(parseRange("bytes=-0", 100), null);
  for (const ignored of ["bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=x-1"]) {
    assertEquals(parseRange(ignored, 100), undefined, ignored);
  }
});

Deno.test("detectType() trusts bytes, not the declared type", async () => {
  assertEquals(await detectType(PNG, "application/pdf"), {
    mime: "image/png",
    kind: "image",
    ext: "png",
  });
  assertEquals((await detectType(new TextEncoder().encode("héllo\n")))?.mime, "text/plain");
  const markup = [
    "<svg><script>alert(1)</script></svg>",
    " \n<HTML>",
    "<?xml?>",
    "<!doctype html>",
  ];
  for (const text of markup) {
    assertEquals(await detectType(new TextEncoder().encode(text), "text/plain"), null, text);
  }
  // Text that only mentions a tag further in stays text.
  for (const text of ["1 < 2\n", "Use <b> for bold.\n"]) {
    assertEquals((await detectType(new TextEncoder().encode(text)))?.mime, "text/plain", text);
  }
  assertEquals(await detectType(new Uint8Array([0, 1, 2, 3, 250, 251])), null);
  assertEquals(await detectType(ELF, "text/plain"), null);
  // A WebM container (EBML header, DocType "webm") is audio when declared so.
  const webm = new Uint8Array([
    0x1a,
    0x45,
    0xdf,
    0xa3,
    0x9f,
    0x42,
    0x86,
    0x81,
    0x01,
    0x42,
    0xf7,
    0x81,
    0x01,
    0x42,
    0xf2,
    0x81,
    0x04,
    0x42,
    0xf3,
    0x81,
    0x08,
    0x42,
    0x82,
    0x84,
    0x77,
    0x65,
    0x62,
    0x6d,
    0x42,
    0x87,
    0x81,
    0x04,
    0x42,
    0x85,
    0x81,
    0x02,
  ]);
  assertEquals((await detectType(webm))?.mime, "video/webm");
  assertEquals((await detectType(webm, "audio/webm;codecs=opus"))?.kind, "audio");
});

Deno.test("fileName() strips paths and control characters and fits the extension to the type", () => {
  const png = { mime: "image/png", kind: "image", ext: "png" } as const;
  const jpg = { mime: "image/jpeg", kind: "image", ext: "jpg" } as const;
  const txt = { mime: "text/plain", kind: "document", ext: "txt" } as const;
  assertEquals(fileName("../../etc/dot.png", png), "dot.png");
  assertEquals(fileName("C:\\photos\\dot.PNG", png), "dot.PNG");
  assertEquals(fileName("holiday.jpeg", jpg), "holiday.jpeg");
  assertEquals(fileName("a\u0000b\nc.png", png), "abc.png");
  assertEquals(fileName(undefined, png), "file.png");
  assertEquals(fileName("notes.csv", txt), "notes.csv");
  assertEquals(fileName("run.exe", txt), "run.exe.txt");
  assertEquals(fileName("x".repeat(300), png).length, 255);
});

Deno.test("contentDisposition() shows media inline, saves documents, and keeps UTF-8 names", () => {
  const record: UploadRecord = {
    _id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ownerId: "alice",
    name: `a "quoted" naïve file's.png`,
    mime: "image/png",
    kind: "image",
    size: 1,
    createdAt: new Date().toISOString(),
    sent: false,
  };
  assertEquals(
    contentDisposition(record),
    `inline; filename="a _quoted_ na_ve file's.png"; ` +
      `filename*=UTF-8''a%20%22quoted%22%20na%C3%AFve%20file%27s.png`,
  );
  assert(contentDisposition({ ...record, kind: "document" }).startsWith("attachment;"));
});

Deno.test("loadConfig() reads the upload settings", () => {
  const config = loadConfig({});
  assertEquals(config.uploads, {
    dir: "./data/uploads",
    maxBytes: 10 * 1024 * 1024,
    quotaBytes: 1024 ** 3,
    retentionMs: 86_400_000,
  });
  assertEquals(config.publicUrl, undefined);
  const custom = loadConfig({
    UPLOAD_DIR: "/srv/files",
    UPLOAD_MAX_BYTES: "2048",
    UPLOAD_QUOTA_BYTES: "1000000",
    UPLOAD_RETENTION_MS: "60000",
    PUBLIC_URL: "https://chat.example.com/some/path",
  });
  assertEquals(custom.uploads, {
    dir: "/srv/files",
    maxBytes: 2048,
    quotaBytes: 1_000_000,
    retentionMs: 60_000,
  });
  assertEquals(custom.publicUrl, "https://chat.example.com");
  for (
    const env of [{ UPLOAD_MAX_BYTES: "0" }, { UPLOAD_QUOTA_BYTES: "0" }, { PUBLIC_URL: "ftp://x" }]
  ) {
    let failed = false;
    try {
      loadConfig(env);
    } catch {
      failed = true;
    }
    assert(failed, JSON.stringify(env));
  }
});
