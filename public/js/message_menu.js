// @ts-check
/// <reference lib="dom" />
/**
 * The menu a message's "Message actions" button opens: a row of emoji to react
 * with, then what may be done to that message (reply, edit, delete for me,
 * report…). One menu at a time, as a WAI-ARIA menu: arrow keys move, Escape
 * or Tab closes it and focus goes back to its button, a click elsewhere closes
 * it.
 */
import { h } from "./dom.js";
import { COMMON_EMOJI } from "./reactions.js";

/** @typedef {"reply" | "edit" | "deleteForMe" | "deleteForEveryone" | "report"} MessageAction */
/** @typedef {{ action: MessageAction, label: string }} MenuItem */

export class MessageMenu {
  /**
   * @param {(choice: { action: MessageAction | "react", emoji?: string }, messageId: string) => void} onChoose
   */
  constructor(onChoose) {
    this.onChoose = onChoose;
    /** @type {HTMLElement | null} */
    this.menu = null;
    /** @type {HTMLButtonElement | null} */
    this.trigger = null;
    this.messageId = "";
    this.onOutside = (/** @type {Event} */ event) => {
      const path = event.composedPath();
      if (this.menu && !path.includes(this.menu) && !path.includes(this.trigger ?? this.menu)) {
        this.close(false);
      }
    };
  }

  get isOpen() {
    return this.menu !== null;
  }

  /**
   * Opens the menu under `trigger` for one message.
   * @param {HTMLButtonElement} trigger
   * @param {string} messageId
   * @param {{ react: boolean, items: MenuItem[], reacted: (emoji: string) => boolean }} what
   */
  open(trigger, messageId, what) {
    this.close(false);
    const menu = h("div", "menu");
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Message actions");
    if (what.react) {
      const row = h("div", "menu-emoji");
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", "React");
      for (const emoji of COMMON_EMOJI) {
        const mine = what.reacted(emoji);
        const b = this.item(emoji, mine ? `Remove ${emoji}` : `React with ${emoji}`);
        b.dataset.emoji = emoji;
        b.classList.toggle("reacted", mine);
        row.append(b);
      }
      menu.append(row);
    }
    for (const { action, label } of what.items) {
      const b = this.item(label, label);
      b.dataset.action = action;
      if (action === "deleteForEveryone" || action === "report") b.classList.add("danger");
      menu.append(b);
    }
    menu.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target.closest("button") : null;
      if (!(target instanceof HTMLButtonElement)) return;
      const id = this.messageId;
      this.close(true);
      if (target.dataset.emoji) this.onChoose({ action: "react", emoji: target.dataset.emoji }, id);
      else if (target.dataset.action) {
        this.onChoose({ action: /** @type {MessageAction} */ (target.dataset.action) }, id);
      }
    });
    menu.addEventListener("keydown", (event) => this.onKey(event));
    trigger.setAttribute("aria-expanded", "true");
    trigger.after(menu);
    this.menu = menu;
    this.trigger = trigger;
    this.messageId = messageId;
    document.addEventListener("pointerdown", this.onOutside, true);
    menu.scrollIntoView({ block: "nearest" });
    this.items()[0]?.focus();
  }

  /** @param {boolean} returnFocus Put the focus back on the menu's button. */
  close(returnFocus) {
    const { menu, trigger } = this;
    if (!menu) return;
    this.menu = null;
    this.trigger = null;
    document.removeEventListener("pointerdown", this.onOutside, true);
    menu.remove();
    trigger?.setAttribute("aria-expanded", "false");
    if (returnFocus) trigger?.focus();
  }

  /**
   * @param {string} text
   * @param {string} label
   */
  item(text, label) {
    const b = h("button", "menu-item", text);
    b.type = "button";
    b.tabIndex = -1;
    b.setAttribute("role", "menuitem");
    if (label !== text) b.setAttribute("aria-label", label);
    return b;
  }

  items() {
    return /** @type {HTMLButtonElement[]} */ ([...(this.menu?.querySelectorAll("button") ?? [])]);
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    const items = this.items();
    const at = items.findIndex((b) => b === event.target);
    /** @param {number} i */
    const go = (i) => items[(i + items.length) % items.length]?.focus();
    switch (event.key) {
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        return this.close(true);
      case "Tab":
        return this.close(false);
      case "ArrowDown":
      case "ArrowRight":
        event.preventDefault();
        return go(at + 1);
      case "ArrowUp":
      case "ArrowLeft":
        event.preventDefault();
        return go(at - 1);
      case "Home":
        event.preventDefault();
        return go(0);
      case "End":
        event.preventDefault();
        return go(items.length - 1);
    }
  }
}
