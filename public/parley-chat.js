// @ts-check
/// <reference lib="dom" />
/**
 * <parley-chat server="https://PARLEY" partner="bob">: the chat inside a host
 * app's page, in an open shadow root, sharing the page's modules and style
 * sheet. The host gives it a token by the `token` property, or a
 * `tokenProvider` (a function returning a promise of a token) that is called
 * again when the token expires or is refused. Styled by the `--parley-*` CSS
 * custom properties (README, "Embedding the chat").
 */
import { mountChat } from "./js/chat_app.js";
import { TokenSource } from "./js/connection.js";

/** Loads Parley's Socket.IO client (a classic script) once per page. @param {string} server */
function loadSocketIo(server) {
  if (typeof (/** @type {Record<string, unknown>} */ (globalThis)).io === "function") {
    return Promise.resolve();
  }
  const src = new URL("/socket.io/socket.io.min.js", server).href;
  let script = /** @type {HTMLScriptElement | null} */ (
    document.querySelector(`script[src="${CSS.escape(src)}"]`)
  );
  if (!script) {
    script = document.createElement("script");
    script.src = src;
    document.head.append(script);
  }
  const loading = script;
  return new Promise((resolve, reject) => {
    if (typeof (/** @type {Record<string, unknown>} */ (globalThis)).io === "function") {
      return resolve(undefined);
    }
    loading.addEventListener("load", () => resolve(undefined), { once: true });
    loading.addEventListener("error", () => reject(new Error(`could not load ${src}`)), {
      once: true,
    });
  });
}

export class ParleyChat extends HTMLElement {
  static observedAttributes = ["partner"];

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {ReturnType<typeof mountChat> | null} */
    this.chat = null;
    /** @type {string | (() => Promise<string>) | null} */
    this.credentials = null;
  }

  /** A token for the chat's user; setting it (re)connects. */
  set token(value) {
    this.credentials = String(value);
    void this.connect();
  }

  get token() {
    return typeof this.credentials === "string" ? this.credentials : "";
  }

  /**
   * Called for a token at connect, and again when the last one has expired.
   * @param {(() => Promise<string>) | null} provider
   */
  set tokenProvider(provider) {
    this.credentials = typeof provider === "function" ? provider : null;
    void this.connect();
  }

  get tokenProvider() {
    return typeof this.credentials === "function" ? this.credentials : null;
  }

  get server() {
    return this.getAttribute("server") ?? location.origin;
  }

  connectedCallback() {
    const root = this.shadowRoot;
    if (!root || this.chat) return;
    // A host that set `token` or `tokenProvider` before this module loaded made them
    // plain properties of the element, hiding the setters: take them over.
    for (const name of /** @type {const} */ (["token", "tokenProvider"])) {
      if (Object.hasOwn(this, name)) {
        const value = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (this))[name];
        delete (/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (this)))[name];
        this.credentials = /** @type {string | (() => Promise<string>)} */ (value);
      }
    }
    const sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.crossOrigin = "anonymous";
    sheet.href = new URL("/style.css", this.server).href;
    root.append(sheet);
    this.chat = mountChat(root, { server: this.server, signIn: false });
    void this.connect();
  }

  disconnectedCallback() {
    this.chat?.destroy();
    this.chat = null;
    this.shadowRoot?.replaceChildren();
  }

  /**
   * @param {string} name
   * @param {string | null} _old
   * @param {string | null} value
   */
  attributeChangedCallback(name, _old, value) {
    if (name === "partner" && value && this.chat) this.chat.open(value);
  }

  async connect() {
    const chat = this.chat;
    if (!chat || !this.credentials) return;
    await loadSocketIo(this.server);
    await chat.connectWith(new TokenSource(this.credentials));
    const partner = this.getAttribute("partner");
    if (partner) chat.open(partner);
  }
}

if (!customElements.get("parley-chat")) customElements.define("parley-chat", ParleyChat);
