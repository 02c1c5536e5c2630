// @ts-check
/// <reference lib="dom" />
/**
 * The socket connection and its one status: connecting, connected, reconnecting
 * (with the next try's time), offline, signed out. The token comes from a
 * TokenSource, asked again on every (re)connect, so an expired token is
 * replaced by the host's tokenProvider before the next try.
 */
import { readJwt } from "./format.js";

/** @typedef {import("../../src/protocol/client.ts").ParleyClient} ParleyClient */
/** @typedef {import("../../src/protocol/types.ts").ClientToServerEvents} ClientToServerEvents */
/** @typedef {"connecting" | "connected" | "reconnecting" | "offline" | "signed-out"} StatusKind */
/** @typedef {{ kind: StatusKind, text: string }} Status */
/** @typedef {{ id: string, name: string | null }} Me */
/**
 * No answer from the server: the page is not connected, or the answer did not
 * come in time (or was lost with the connection). Not one of the server's codes.
 * @typedef {{ ok: false, code: "TIMEOUT" | "NOT_CONNECTED", error: string }} NoAnswer
 */

/** Socket.IO's reconnection delays (its defaults, set explicitly so the status can name them). */
const RECONNECT_DELAY_MS = 1000;
const RECONNECT_DELAY_MAX_MS = 5000;
/** A token this close to its expiry is replaced before it is used. */
const EXPIRY_MARGIN_S = 5;

/**
 * Where tokens come from: a fixed token (the page's sign-in form, the embed's
 * `token` property) or a provider (the embed's `tokenProvider`), asked again
 * once the token it gave has expired or was refused.
 */
export class TokenSource {
  /** @param {string | (() => Promise<string>)} tokenOrProvider */
  constructor(tokenOrProvider) {
    /** @type {(() => Promise<string>) | null} */
    this.provider = typeof tokenOrProvider === "function" ? tokenOrProvider : null;
    this.token = typeof tokenOrProvider === "string" ? tokenOrProvider : "";
  }

  /** Whether a refused token can be replaced. */
  get renewable() {
    return this.provider !== null;
  }

  /** @returns {Promise<string>} */
  async get() {
    const exp = readJwt(this.token)?.exp ?? null;
    const stale = this.token === "" || (exp !== null && exp - EXPIRY_MARGIN_S < Date.now() / 1000);
    if (stale && this.provider) this.token = String(await this.provider());
    return this.token;
  }

  /** The token was refused: the next get() asks the provider. */
  expire() {
    if (this.provider) this.token = "";
  }
}

/**
 * @typedef {object} ConnectionOptions
 * @property {string} server
 * @property {TokenSource} tokens
 * @property {(status: Status) => void} onStatus
 * @property {(what: string, err: unknown) => void} onError A refusal to show.
 * @property {() => void} onConnected After every (re)connect: refresh what may have been missed.
 * @property {(me: Me) => void} onIdentity The token's user, before the first connect.
 */

export class Connection {
  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {ParleyClient | null} */
    this.socket = null;
    /** @type {Me | null} */
    this.me = null;
    /** @type {Status} */
    this.status = { kind: "signed-out", text: "signed out" };
    /** When the manager's next reconnection attempt is due (epoch ms), 0 if unknown. */
    this.nextTry = 0;
    this.onOnline = () => this.refreshStatus();
    globalThis.addEventListener("online", this.onOnline);
    globalThis.addEventListener("offline", this.onOnline);
  }

  get connected() {
    return Boolean(this.socket?.connected);
  }

  /**
   * Opens the socket; `wire` registers the event listeners once (never inside
   * `connect`, which would add them again on each reconnect).
   * @param {(socket: ParleyClient) => void} wire
   * @returns {Promise<boolean>} false when no usable token could be had.
   */
  async start(wire) {
    this.stop();
    const { server, tokens } = this.options;
    let token;
    try {
      token = await tokens.get();
    } catch (err) {
      this.options.onError("Token", err);
      return false;
    }
    const claims = readJwt(token);
    if (!claims) {
      this.options.onError("Connect", {
        error: "the token is not a JWT",
        code: "VALIDATION_ERROR",
      });
      return false;
    }
    // A guess from the token's usual claims; the server's `session` event has the last word.
    this.me = claims.sub === null ? null : { id: claims.sub, name: claims.name };
    if (this.me) this.options.onIdentity(this.me);
    const io = /** @type {typeof import("socket.io-client").io | undefined} */ (
      /** @type {Record<string, unknown>} */ (globalThis).io
    );
    if (typeof io !== "function") {
      this.options.onError("Connect", { error: "the Socket.IO client did not load" });
      return false;
    }
    /** @type {ParleyClient} */
    const socket = io(server, {
      // Asked on every attempt: a renewed token is used by the next reconnect.
      auth: (cb) => {
        tokens.get().then((t) => cb({ token: t }), () => cb({ token: "" }));
      },
      forceNew: true,
      reconnectionDelay: RECONNECT_DELAY_MS,
      reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    });
    this.socket = socket;
    this.setStatus("connecting", claims.sub ? `connecting as ${claims.sub}…` : "connecting…");
    wire(socket);
    this.watch(socket);
    return true;
  }

  /** Signs out: closes the socket, no reconnect. */
  stop() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.off();
      socket.io.off();
      socket.disconnect();
    }
    this.setStatus("signed-out", "signed out");
  }

  /**
   * Emits with an ack; resolves with the ack, or a TIMEOUT failure.
   * @template {keyof ClientToServerEvents} E
   * @param {E} event
   * @param {Parameters<ClientToServerEvents[E]>[0]} payload
   * @param {number} timeoutMs
   * @returns {Promise<Parameters<NonNullable<Parameters<ClientToServerEvents[E]>[1]>>[0] | NoAnswer>}
   */
  async request(event, payload, timeoutMs) {
    const socket = this.socket;
    if (!socket?.connected) {
      return { ok: false, code: "NOT_CONNECTED", error: "not connected" };
    }
    // socket.io-client cannot infer emitWithAck through the optional ack of the event map.
    const untyped = /** @type {{ emitWithAck(e: string, p: unknown): Promise<never> }} */ (
      /** @type {unknown} */ (socket.timeout(timeoutMs))
    );
    try {
      return await untyped.emitWithAck(event, payload);
    } catch {
      // A time-out, or the connection dropped before the answer came.
      return { ok: false, code: "TIMEOUT", error: "no answer from server" };
    }
  }

  /** @param {ParleyClient} socket */
  watch(socket) {
    const mine = () => this.socket === socket;
    const who = () => this.me?.id ?? "";
    socket.on("connect", () => {
      // A token whose claims did not say who this is: the `session` event that follows will.
      if (!mine() || !this.me) return;
      this.setStatus("connected", `connected as ${who()}`);
      this.options.onConnected();
    });
    // The server says who this socket is, whichever claim held the id: the token was read as a guess.
    socket.on("session", ({ userId, username }) => {
      if (!mine() || this.me?.id === userId) return;
      this.me = { id: userId, name: username ?? this.me?.name ?? null };
      this.options.onIdentity(this.me);
      this.setStatus("connected", `connected as ${userId}`);
      this.options.onConnected();
    });
    socket.on("disconnect", (reason) => {
      if (!mine()) return;
      if (!socket.active) {
        // Closed by the server (a token that expired, too many tabs): Socket.IO does not
        // try again by itself. A provider's new token may be let in; a fixed one signs out.
        if (this.options.tokens.renewable) {
          this.options.tokens.expire();
          socket.connect();
        } else {
          this.stop();
          this.setStatus("signed-out", `signed out (${reason})`);
          return;
        }
      }
      this.refreshStatus();
    });
    socket.on("connect_error", (err) => {
      if (!mine()) return;
      const data = /** @type {{ code?: string, error?: string } | undefined} */ (
        /** @type {{ data?: unknown }} */ (err).data
      );
      const refused = err.message === "unauthorized" || data?.code === "UNAUTHORIZED" ||
        data?.code === "TOKEN_EXPIRED";
      if (refused && this.options.tokens.renewable) {
        // The provider is asked for a new token by the next attempt's auth().
        this.options.tokens.expire();
        if (!socket.active) socket.connect();
        return;
      }
      if (refused) {
        this.options.onError("Connect", {
          error: `token refused: ${data?.error ?? "missing, invalid or expired token"}`,
          code: data?.code ?? "UNAUTHORIZED",
        });
        this.stop();
        return;
      }
      this.refreshStatus();
    });
    // The manager's events tell when the next try is due.
    socket.io.on("reconnect_attempt", () => mine() && this.refreshStatus());
    socket.io.on("reconnect_error", () => {
      if (!mine()) return;
      const attempts = /** @type {{ backoff?: { attempts?: number } }} */ (
        /** @type {unknown} */ (socket.io)
      ).backoff?.attempts ?? 1;
      const delay = Math.min(RECONNECT_DELAY_MAX_MS, RECONNECT_DELAY_MS * 2 ** attempts);
      this.nextTry = Date.now() + delay;
      this.refreshStatus();
    });
  }

  /** Recomputes the status from the socket and the network. */
  refreshStatus() {
    const socket = this.socket;
    if (!socket) return this.setStatus("signed-out", "signed out");
    if (socket.connected) return this.setStatus("connected", `connected as ${this.me?.id ?? ""}`);
    if (!navigator.onLine) return this.setStatus("offline", "offline — waiting for the network");
    const next = this.nextTry && this.nextTry > Date.now()
      ? ` — next try at ${new Date(this.nextTry).toLocaleTimeString()}`
      : "…";
    this.setStatus("reconnecting", `reconnecting${next}`);
  }

  /**
   * @param {StatusKind} kind
   * @param {string} text
   */
  setStatus(kind, text) {
    this.status = { kind, text };
    this.options.onStatus(this.status);
  }

  destroy() {
    this.stop();
    globalThis.removeEventListener("online", this.onOnline);
    globalThis.removeEventListener("offline", this.onOnline);
  }
}
