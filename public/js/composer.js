// @ts-check
/// <reference lib="dom" />
/**
 * The composer: Enter sends, Shift+Enter is a new line; typing is announced
 * (throttled, stopped when idle); a file can be picked, dropped or pasted, and
 * is uploaded at once with progress and a preview; "Attach by URL" describes a
 * file stored elsewhere. A reply shows its quote above the text and an edit
 * the message being changed, each with Cancel (or Escape).
 */
import { formatSize, safeHttpUrl } from "./format.js";

/** @typedef {import("../../src/protocol/types.ts").FileAttachment} FileAttachment */
/** @typedef {import("./api.js").Api} Api */

const TYPING_THROTTLE_MS = 2000;
const TYPING_IDLE_MS = 3000;

/**
 * @typedef {object} ComposerElements
 * @property {HTMLFormElement} form
 * @property {HTMLTextAreaElement} text
 * @property {HTMLButtonElement} send
 * @property {HTMLInputElement} fileInput
 * @property {HTMLElement} dropZone Where a dropped file is taken.
 * @property {HTMLElement} attachment The picked file: name, progress, preview, remove.
 * @property {HTMLDetailsElement} byUrl
 * @property {HTMLInputElement} fileUrl
 * @property {HTMLInputElement} fileName
 * @property {HTMLSelectElement} fileType
 * @property {HTMLInputElement} fileSize
 * @property {HTMLElement} context What is being replied to or edited, with its Cancel button.
 */

/**
 * @typedef {object} ComposerEvents
 * @property {(text: string | null, file: FileAttachment | null, replyTo: string | null) => void} send
 * @property {(messageId: string, text: string) => void} edit The text of an edited message.
 * @property {(isTyping: boolean) => void} typing
 * @property {(what: string, err: unknown) => void} error
 * @property {(what: string) => void} ok The error of `what` is gone.
 */

export class Composer {
  /**
   * @param {ComposerElements} el
   * @param {Api} api
   * @param {ComposerEvents} events
   */
  constructor(el, api, events) {
    this.el = el;
    this.api = api;
    this.events = events;
    this.enabled = false;
    /** @type {FileAttachment | null} */
    this.uploaded = null;
    /** @type {Promise<void> | null} */
    this.uploading = null;
    /** @type {{ active: boolean, lastSent: number, idle: ReturnType<typeof setTimeout> | undefined }} */
    this.typing = { active: false, lastSent: 0, idle: undefined };
    /** @type {string} */
    this.previewUrl = "";
    /** @type {{ kind: "reply" | "edit", messageId: string } | null} */
    this.context = null;
    this.sendLabel = el.send.textContent ?? "Send";

    el.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    el.text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.submit();
      } else if (e.key === "Escape" && this.context) {
        e.preventDefault();
        e.stopPropagation();
        this.cancelContext();
      }
    });
    el.text.addEventListener("input", () => this.onInput());
    el.text.addEventListener("blur", () => {
      if (el.text.value.trim() === "") this.stopTyping();
    });
    el.fileInput.addEventListener("change", () => {
      const file = el.fileInput.files?.[0];
      if (file) void this.attach(file);
    });
    el.text.addEventListener("paste", (e) => {
      const file = [...(e.clipboardData?.files ?? [])][0];
      if (file) {
        e.preventDefault();
        void this.attach(file);
      }
    });
    el.dropZone.addEventListener("dragover", (e) => {
      if (!this.enabled || !e.dataTransfer?.types.includes("Files")) return;
      e.preventDefault();
      el.dropZone.classList.add("dragging");
    });
    el.dropZone.addEventListener("dragleave", () => el.dropZone.classList.remove("dragging"));
    el.dropZone.addEventListener("drop", (e) => {
      el.dropZone.classList.remove("dragging");
      const file = [...(e.dataTransfer?.files ?? [])][0];
      if (!file || !this.enabled) return;
      e.preventDefault();
      void this.attach(file);
    });
    el.attachment.addEventListener("click", (e) => {
      if (e.target instanceof Element && e.target.closest(".remove-attachment")) this.clearFile();
    });
    el.context.addEventListener("click", (e) => {
      if (e.target instanceof Element && e.target.closest(".context-cancel")) {
        this.cancelContext();
        this.focus();
      }
    });
    el.byUrl.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && el.byUrl.open) {
        el.byUrl.open = false;
        el.byUrl.querySelector("summary")?.focus();
      }
    });
  }

  /** @param {boolean} enabled */
  setEnabled(enabled) {
    this.enabled = enabled;
    const { text, send, fileInput, fileUrl, fileName, fileType, fileSize } = this.el;
    for (const input of [text, fileInput, fileUrl, fileName, fileType, fileSize]) {
      input.disabled = !enabled;
    }
    send.disabled = !enabled || this.uploading !== null;
    if (!enabled) this.stopTyping();
  }

  focus() {
    this.el.text.focus();
  }

  /**
   * The next message replies to `messageId`; `who` and `what` describe it above the text.
   * @param {string} messageId
   * @param {string} who
   * @param {string} what
   */
  startReply(messageId, who, what) {
    if (this.context?.kind === "edit") this.el.text.value = "";
    this.setContext({ kind: "reply", messageId }, `Replying to ${who}`, what, "Cancel reply");
    this.focus();
  }

  /**
   * The text is that of an own message, and sending saves it instead.
   * @param {string} messageId
   * @param {string} text
   */
  startEdit(messageId, text) {
    this.clearFile();
    this.setContext({ kind: "edit", messageId }, "Editing message", text, "Cancel edit");
    this.el.text.value = text;
    this.el.send.textContent = "Save";
    this.focus();
  }

  /** Back to a plain new message (an edit's text goes with it). */
  cancelContext() {
    if (this.context?.kind === "edit") this.el.text.value = "";
    this.context = null;
    this.el.context.hidden = true;
    this.el.context.replaceChildren();
    this.el.send.textContent = this.sendLabel;
  }

  /**
   * @param {{ kind: "reply" | "edit", messageId: string }} context
   * @param {string} title
   * @param {string} what
   * @param {string} cancelLabel
   */
  setContext(context, title, what, cancelLabel) {
    this.context = context;
    const box = this.el.context;
    const text = document.createElement("span");
    text.className = "context-text";
    const strong = document.createElement("strong");
    strong.textContent = title;
    const quoted = document.createElement("span");
    quoted.className = "context-quote";
    quoted.textContent = what;
    text.append(strong, quoted);
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "context-cancel secondary small";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", cancelLabel);
    box.replaceChildren(text, cancel);
    box.hidden = false;
  }

  /** Forgets what was typed and attached (another conversation was opened). */
  reset() {
    this.cancelContext();
    this.stopTyping();
    this.el.text.value = "";
    this.clearFile();
    this.clearUrlFields();
  }

  /** @param {File} file */
  async attach(file) {
    this.clearFile();
    const box = this.el.attachment;
    box.hidden = false;
    box.replaceChildren();
    const name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = `${file.name} (${formatSize(file.size)})`;
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", `Uploading ${file.name}`);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-attachment secondary small";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${file.name}`);
    box.append(name, progress, remove);
    if (file.type.startsWith("image/")) {
      this.previewUrl = URL.createObjectURL(file);
      const img = document.createElement("img");
      img.className = "attachment-preview";
      img.alt = `Preview of ${file.name}`;
      img.src = this.previewUrl;
      box.prepend(img);
    }
    const started = this.api.upload(file, (f) => (progress.value = f)).then(
      (attachment) => {
        if (this.uploading !== started) return;
        this.uploaded = attachment;
        progress.value = 1;
        this.events.ok("Upload");
      },
      (err) => {
        if (this.uploading !== started) return;
        this.events.error("Uploading file", err);
        this.clearFile();
      },
    ).finally(() => {
      if (this.uploading === started) this.uploading = null;
      this.setEnabled(this.enabled);
    });
    this.uploading = started;
    this.setEnabled(this.enabled);
    await started;
  }

  clearFile() {
    this.uploading = null;
    this.uploaded = null;
    this.el.fileInput.value = "";
    this.el.attachment.hidden = true;
    this.el.attachment.replaceChildren();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = "";
    this.setEnabled(this.enabled);
  }

  clearUrlFields() {
    this.el.fileUrl.value = "";
    this.el.fileName.value = "";
    this.el.fileSize.value = "";
  }

  /** The "Attach by URL" fields as a file, null when empty; throws what is wrong. */
  readUrlFields() {
    const url = this.el.fileUrl.value.trim();
    if (!url) return null;
    if (!safeHttpUrl(url)) throw new Error("file URL must be an http(s) URL");
    let name = this.el.fileName.value.trim();
    if (!name) {
      try {
        name = decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "");
      } catch {
        name = "";
      }
    }
    if (!name) throw new Error("file name is required");
    const size = Number(this.el.fileSize.value);
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new Error("file size must be a whole number of bytes above 0");
    }
    const type = /** @type {FileAttachment["type"]} */ (this.el.fileType.value);
    return { url, type, name: name.slice(0, 255), size };
  }

  async submit() {
    if (!this.enabled) return;
    const context = this.context;
    if (context?.kind === "edit") {
      const text = this.el.text.value.trim();
      if (!text) return;
      this.cancelContext();
      this.events.edit(context.messageId, text);
      this.focus();
      return;
    }
    if (this.uploading) await this.uploading;
    const text = this.el.text.value.trim();
    /** @type {FileAttachment | null} */
    let file = this.uploaded;
    if (!file) {
      try {
        file = this.readUrlFields();
      } catch (err) {
        this.events.error("Attachment", { error: String(/** @type {Error} */ (err).message) });
        return;
      }
    }
    if (!text && !file) return;
    this.events.ok("Attachment");
    this.stopTyping();
    this.el.text.value = "";
    if (this.uploaded) this.clearFile();
    else if (file) {
      this.clearUrlFields();
      this.el.byUrl.open = false;
    }
    const replyTo = context?.kind === "reply" ? context.messageId : null;
    if (replyTo) this.cancelContext();
    this.events.send(text || null, file, replyTo);
    this.focus();
  }

  onInput() {
    if (!this.enabled) return;
    if (this.el.text.value.trim() === "") return this.stopTyping();
    const now = Date.now();
    if (!this.typing.active || now - this.typing.lastSent >= TYPING_THROTTLE_MS) {
      this.events.typing(true);
      this.typing.active = true;
      this.typing.lastSent = now;
    }
    clearTimeout(this.typing.idle);
    this.typing.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typing.idle);
    if (!this.typing.active) return;
    this.typing.active = false;
    this.events.typing(false);
  }
}
