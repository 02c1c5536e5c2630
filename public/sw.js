// @ts-check
/// <reference lib="webworker" />
/**
 * Parley's service worker: shows a Web Push notification for a message that
 * arrived while no tab had the chat, and a click opens (or focuses) the chat.
 * The payload is Parley's (docs/attachments-and-notifications.md): sender and
 * message id, the text only with PUSH_INCLUDE_TEXT=true.
 */
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

worker.addEventListener("push", (event) => {
  /** @type {{ messageId?: string, senderId?: string, senderName?: string, text?: string, attachment?: string }} */
  let n = {};
  try {
    n = event.data?.json() ?? {};
  } catch { /* not JSON: a plain notification still tells that something came */ }
  const body = n.text ??
    (n.attachment ? `sent you ${n.attachment === "image" ? "a photo" : "a file"}` : "New message");
  event.waitUntil(
    worker.registration.showNotification(n.senderName ?? n.senderId ?? "Parley", {
      body,
      tag: n.messageId,
      data: { senderId: n.senderId },
    }),
  );
});

worker.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const tabs = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
    const tab = tabs[0];
    if (tab) await tab.focus();
    else await worker.clients.openWindow("/");
  })());
});
