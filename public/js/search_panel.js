// @ts-check
/// <reference lib="dom" />
/**
 * Search over the user's messages (`GET /api/chats/search`): a search box in
 * the sidebar, the matches below it, newest first; choosing one opens its
 * conversation at that message. Escape, or Clear, empties it.
 */
import { closest, h } from "./dom.js";
import { formatTime, isMessage } from "./format.js";
import { conversationKeyOf } from "./groups.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("./api.js").Api} Api */

const RESULTS_LIMIT = 20;

/**
 * @typedef {object} SearchElements
 * @property {HTMLFormElement} form
 * @property {HTMLInputElement} input
 * @property {HTMLButtonElement} clear
 * @property {HTMLElement} status What the search found (or why it could not).
 * @property {HTMLUListElement} results
 */

/**
 * @typedef {object} SearchEvents
 * @property {(partnerId: string, messageId: string) => void} open
 * @property {(userId: string) => string} nameOf
 * @property {() => string} me
 * @property {(what: string, err: unknown) => void} error
 */

export class SearchPanel {
  /**
   * @param {SearchElements} el
   * @param {Api} api
   * @param {SearchEvents} events
   */
  constructor(el, api, events) {
    this.el = el;
    this.api = api;
    this.events = events;
    this.generation = 0;
    el.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search(el.input.value.trim());
    });
    el.input.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && (el.input.value || !el.results.hidden)) {
        e.preventDefault();
        e.stopPropagation();
        this.clear();
      }
    });
    el.clear.addEventListener("click", () => {
      this.clear();
      el.input.focus();
    });
    el.results.addEventListener("click", (e) => {
      const item = closest(e.target, "button.result");
      if (item?.dataset.partner && item.dataset.id) {
        this.events.open(item.dataset.partner, item.dataset.id);
      }
    });
  }

  /** @param {boolean} enabled */
  setEnabled(enabled) {
    this.el.input.disabled = !enabled;
    const submit = this.el.form.querySelector("button[type=submit]");
    if (submit instanceof HTMLButtonElement) submit.disabled = !enabled;
  }

  clear() {
    this.generation++;
    this.el.input.value = "";
    this.el.results.replaceChildren();
    this.el.results.hidden = true;
    this.el.status.textContent = "";
    this.el.status.hidden = true;
    this.el.clear.hidden = true;
  }

  /** @param {string} q */
  async search(q) {
    if (!q) return this.clear();
    const generation = ++this.generation;
    this.el.clear.hidden = false;
    this.showStatus("Searching…");
    let found;
    try {
      const params = new URLSearchParams({ q, limit: String(RESULTS_LIMIT) });
      found = await this.api.json("GET", `/api/chats/search?${params}`);
    } catch (err) {
      if (generation !== this.generation) return;
      const code = /** @type {{ code?: unknown }} */ (err).code;
      this.el.results.replaceChildren();
      this.el.results.hidden = true;
      if (code === "SEARCH_UNAVAILABLE") {
        return this.showStatus("Search is not available here: messages are encrypted at rest.");
      }
      this.showStatus("Search failed.");
      return this.events.error("Search", err);
    }
    if (generation !== this.generation) return;
    const list = Array.isArray(found) ? found.filter(isMessage) : [];
    this.el.results.replaceChildren(...list.map((m) => this.row(m)));
    this.el.results.hidden = list.length === 0;
    this.showStatus(
      list.length === 0
        ? `No messages with “${q}”.`
        : `${list.length}${list.length === RESULTS_LIMIT ? "+" : ""} message${
          list.length === 1 ? "" : "s"
        } with “${q}”`,
    );
  }

  /** @param {string} text */
  showStatus(text) {
    this.el.status.textContent = text;
    this.el.status.hidden = false;
  }

  /** @param {ChatMessage} m */
  row(m) {
    const me = this.events.me();
    const partner = conversationKeyOf(m, me);
    const li = h("li");
    const button = h("button", "result");
    button.type = "button";
    button.dataset.partner = partner;
    button.dataset.id = m._id;
    const top = h("span", "result-top");
    const who = m.senderId === me
      ? `You → ${this.events.nameOf(partner)}`
      : this.events.nameOf(partner);
    top.append(h("span", "name", who), h("span", "conv-time", formatTime(m.createdAt)));
    button.append(top, h("span", "preview", m.text ?? `📎 ${m.file?.name ?? "file"}`));
    li.append(button);
    return li;
  }
}
