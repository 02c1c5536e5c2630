// @ts-check
/// <reference lib="dom" />
/**
 * Browser notifications, with the user's permission: one for a message to a
 * conversation that is not open, or while the page is hidden. On the page at
 * `/`, and when the server has VAPID keys, also Web Push through the service
 * worker `/sw.js`, so that messages arrive while no tab is open.
 */
import { groupKey } from "./groups.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("./api.js").Api} Api */

/** @param {string} base64url */
function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export class Notifier {
  /**
   * @param {object} options
   * @param {HTMLButtonElement} options.button The opt-in button.
   * @param {Api} options.api
   * @param {EventTarget} options.events Gets a `parley-notification` event per notification shown.
   * @param {boolean} options.webPush Register the service worker (same-origin pages only).
   * @param {(partnerId: string) => void} options.onOpen A click on a notification opens its chat.
   */
  constructor(options) {
    this.options = options;
    const supported = "Notification" in globalThis;
    options.button.hidden = !supported;
    if (!supported) return;
    options.button.addEventListener("click", () => void this.enable());
    this.render();
  }

  get granted() {
    return "Notification" in globalThis && Notification.permission === "granted";
  }

  render() {
    const b = this.options.button;
    const permission = "Notification" in globalThis ? Notification.permission : "denied";
    b.textContent = permission === "granted"
      ? "Notifications on"
      : permission === "denied"
      ? "Notifications blocked"
      : "Turn on notifications";
    b.disabled = permission !== "default";
  }

  async enable() {
    if (Notification.permission === "default") await Notification.requestPermission();
    this.render();
    if (this.granted && this.options.webPush) await this.subscribePush();
  }

  /** After sign-in: a permission given earlier also renews the push subscription. */
  async signedIn() {
    this.render();
    if (this.granted && this.options.webPush) await this.subscribePush();
  }

  /** Registers /sw.js and the subscription, when the server has VAPID keys. */
  async subscribePush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in globalThis)) return;
    let publicKey;
    try {
      const res = /** @type {{ publicKey?: unknown }} */ (
        await this.options.api.json("GET", "/api/push/vapid-public-key")
      );
      if (typeof res.publicKey !== "string") return;
      publicKey = res.publicKey;
    } catch {
      return; // 404: this server has no Web Push; in-page notifications still work
    }
    const registration = await navigator.serviceWorker.register("/sw.js");
    try {
      const subscription = await registration.pushManager.getSubscription() ??
        await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(publicKey),
        });
      await this.options.api.json("POST", "/api/push/subscriptions", subscription.toJSON());
    } catch {
      // The browser's push service cannot be reached: notifications stay in-page.
    }
  }

  /**
   * @param {ChatMessage} m An incoming message.
   * @param {string} senderName
   * @param {boolean} chatOpen Whether its conversation is the open one.
   */
  notify(m, senderName, chatOpen) {
    if (!this.granted) return;
    if (chatOpen && document.visibilityState === "visible") return;
    const body = m.text ?? (m.file ? `📎 ${m.file.name || "a file"}` : "New message");
    const n = new Notification(senderName, { body, tag: m._id });
    n.addEventListener("click", () => {
      globalThis.focus();
      this.options.onOpen(m.groupId ? groupKey(m.groupId) : m.senderId);
      n.close();
    });
    this.options.events.dispatchEvent(
      new CustomEvent("parley-notification", {
        bubbles: true,
        composed: true,
        detail: { messageId: m._id, senderId: m.senderId, title: senderName, body },
      }),
    );
  }
}
