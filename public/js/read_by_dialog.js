// @ts-check
/// <reference lib="dom" />
/**
 * Who read one of the reader's group messages: the "Read by" button under
 * the message counts them, and opens a dialog listing each reader with the
 * time, then the members who have not read it yet. The list comes from the
 * server (`GET /api/groups/:groupId/messages/:messageId/reads`) and follows
 * `groupRead` while it is open.
 */
import { h } from "./dom.js";
import { formatTime } from "./format.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").Group} Group */
/** @typedef {{ userId: string, readAt: string }} Reader */

/** The dialog (static markup; see layout.js). */
export const READ_BY_MARKUP = `
  <dialog id="readByDialog" class="read-by-dialog" aria-labelledby="readByTitle">
    <form method="dialog" class="stack">
      <h2 id="readByTitle">Read by</h2>
      <p class="read-by-about muted"></p>
      <ul class="read-by-list" aria-label="Read by"></ul>
      <p class="read-by-none muted" hidden>Nobody has read it yet.</p>
      <p class="read-by-waiting muted" hidden></p>
      <div class="row">
        <button type="submit" value="close">Close</button>
      </div>
    </form>
  </dialog>`;

/**
 * The label of a message's "Read by" button.
 * @param {number} readers
 * @param {number} others Members other than the sender.
 */
export function readByLabel(readers, others) {
  if (readers === 0) return "Sent";
  if (others > 0 && readers >= others) return "Read by all";
  return `Read by ${readers}`;
}

export class ReadByDialog {
  /**
   * @param {HTMLDialogElement} dialog
   * @param {(userId: string) => string} nameOf
   */
  constructor(dialog, nameOf) {
    this.dialog = dialog;
    this.nameOf = nameOf;
    /** The message shown, while open. @type {ChatMessage | null} */
    this.message = null;
    dialog.addEventListener("close", () => {
      this.message = null;
      this.returnFocus?.focus();
    });
    /** @type {HTMLElement | null} */
    this.returnFocus = null;
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * @param {ChatMessage} m
   * @param {HTMLElement | null} trigger Focused again when the dialog closes.
   */
  open(m, trigger) {
    this.message = m;
    this.returnFocus = trigger;
    const about = this.dialog.querySelector(".read-by-about");
    if (about) about.textContent = m.text ?? `📎 ${m.file?.name ?? "file"}`;
    if (!this.dialog.open) this.dialog.showModal();
  }

  /**
   * @param {Reader[]} readers
   * @param {Group | undefined} group
   */
  render(readers, group) {
    const m = this.message;
    if (!m) return;
    const list = this.dialog.querySelector(".read-by-list");
    const sorted = [...readers].sort((a, b) => a.readAt < b.readAt ? -1 : 1);
    list?.replaceChildren(...sorted.map((r) => {
      const li = h("li", "read-by-entry");
      li.dataset.user = r.userId;
      const time = h("time", "conv-time", formatTime(r.readAt));
      time.dateTime = r.readAt;
      li.append(h("span", "name", this.nameOf(r.userId)), time);
      return li;
    }));
    const none = this.dialog.querySelector(".read-by-none");
    if (none instanceof HTMLElement) none.hidden = readers.length > 0;
    const read = new Set(readers.map((r) => r.userId));
    const waiting = (group?.memberIds ?? []).filter((id) => id !== m.senderId && !read.has(id));
    const rest = this.dialog.querySelector(".read-by-waiting");
    if (rest instanceof HTMLElement) {
      rest.hidden = waiting.length === 0;
      rest.textContent = `Not read yet: ${waiting.map((id) => this.nameOf(id)).join(", ")}`;
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
