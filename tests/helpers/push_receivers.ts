/**
 * The other ends of push notifications, run by the test on loopback:
 * a webhook receiver that checks the HMAC signature on its own (node:crypto,
 * not Parley's code), and a Web Push endpoint that checks what a push service
 * checks (the VAPID JWT, signed with the key in the `k=` parameter) and
 * decrypts the payload as a browser would (RFC 8291, npm `http_ece`).
 */
import { createECDH, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import ece from "http_ece";
import { importJWK, jwtVerify } from "jose";

export interface WebhookRequest {
  headers: Headers;
  body: string;
  /** The signature checked with the shared secret and a 5-minute window. */
  signatureValid: boolean;
}

/** `await using` closes it at the end of the scope. */
export interface Receiver<T> extends AsyncDisposable {
  url: string;
  requests: T[];
  /** Status codes for the next requests, in order; then 200/201. */
  respondWith: number[];
  /** Milliseconds the next requests wait before answering, in order. */
  delays: number[];
  /** Headers of the next answers, in order (e.g. `{ "retry-after": "1" }`). */
  responseHeaders: Record<string, string>[];
  close(): Promise<void>;
}

/** `port`: a given one (a receiver that comes back where it was); 0 picks a free one. */
export async function startWebhookReceiver(
  secret: string,
  port = 0,
): Promise<Receiver<WebhookRequest>> {
  const receiver = await serve<WebhookRequest>(200, async (request) => {
    const body = await request.text();
    return { headers: request.headers, body, signatureValid: checkHmac(secret, request, body) };
  }, port);
  receiver.url = `${receiver.url}/hooks/parley`;
  return receiver;
}

/** The Stripe-style check a receiver runs: `t=<s>,v1=<hex HMAC-SHA256 of "t.body">`. */
function checkHmac(secret: string, request: Request, body: string): boolean {
  const header = request.headers.get("x-parley-signature") ?? "";
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, "hex"));
}

/** A browser's side of a subscription: its key pair and auth secret. */
export interface BrowserKeys {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  /** What `PushSubscription.toJSON().keys` holds. */
  json: { p256dh: string; auth: string };
}

export function browserKeys(): BrowserKeys {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    json: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
  };
}

export interface PushRequest {
  path: string;
  headers: Headers;
  /** Why the request is not what a push service accepts; null when it is. */
  vapidProblem: string | null;
  /** The decrypted notification (JSON), or null if it could not be decrypted. */
  payload: Record<string, unknown> | null;
}

/**
 * A push service on loopback. Subscriptions' endpoints are `${url}/push/<name>`;
 * `keysFor(name)` gives the browser keys to decrypt with.
 */
export async function startPushService(
  vapid: { publicKey: string; subject: string },
  keysFor: (name: string) => BrowserKeys | undefined,
): Promise<Receiver<PushRequest>> {
  return await serve<PushRequest>(201, async (request) => {
    const url = new URL(request.url);
    const body = Buffer.from(await request.arrayBuffer());
    const vapidProblem = await checkVapid(request, vapid, url.origin);
    const keys = keysFor(url.pathname.split("/").at(-1) ?? "");
    let payload: Record<string, unknown> | null = null;
    if (keys && request.headers.get("content-encoding") === "aes128gcm") {
      try {
        const plain = ece.decrypt(body, {
          version: "aes128gcm",
          privateKey: keys.ecdh,
          authSecret: keys.auth.toString("base64url"),
        });
        payload = JSON.parse(plain.toString("utf8"));
      } catch {
        payload = null;
      }
    }
    return { path: url.pathname, headers: request.headers, vapidProblem, payload };
  });
}

/** RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`, JWT ES256 by that key. */
async function checkVapid(
  request: Request,
  vapid: { publicKey: string; subject: string },
  audience: string,
): Promise<string | null> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(
    request.headers.get("authorization") ?? "",
  );
  if (!match) return "no vapid Authorization header";
  const [, jwt, key] = match as unknown as [string, string, string];
  if (key !== vapid.publicKey) return "k= is not the server's VAPID public key";
  const raw = Buffer.from(key, "base64url");
  const publicKey = await importJWK({
    kty: "EC",
    crv: "P-256",
    x: raw.subarray(1, 33).toString("base64url"),
    y: raw.subarray(33, 65).toString("base64url"),
  }, "ES256");
  try {
    const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ["ES256"], audience });
    if (payload.sub !== vapid.subject) return `sub is ${payload.sub}`;
    const exp = payload.exp ?? 0;
    if (exp > Date.now() / 1000 + 24 * 3600) return "exp more than 24 hours ahead";
  } catch (err) {
    return `JWT refused: ${(err as Error).message}`;
  }
  if (!request.headers.get("ttl")) return "no TTL header";
  return null;
}

/**
 * A node:http server (Deno.serve would refuse the Response class that
 * @hono/node-server installs globally in this process); handlers see a Request.
 */
async function serve<T>(
  okStatus: number,
  record: (request: Request) => Promise<T>,
  port = 0,
): Promise<Receiver<T>> {
  const receiver: Receiver<T> = {
    url: "",
    requests: [],
    respondWith: [],
    delays: [],
    responseHeaders: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    [Symbol.asyncDispose]: () => receiver.close(),
  };
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", async () => {
      const delay = receiver.delays.shift() ?? 0;
      const status = receiver.respondWith.shift() ?? okStatus;
      const answerHeaders = receiver.responseHeaders.shift() ?? {};
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        if (typeof value === "string") headers.set(name, value);
      }
      const url = `http://${incoming.headers.host}${incoming.url}`;
      const body = Buffer.concat(chunks);
      receiver.requests.push(
        await record(new Request(url, { method: incoming.method, headers, body })),
      );
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      outgoing.writeHead(status, answerHeaders).end();
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
