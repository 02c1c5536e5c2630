// @ts-check
/// <reference lib="dom" />
/**
 * One error toast at a time (`role="alert"`). Each error names its cause; when
 * that cause is gone (the connection is back, the next send worked) the caller
 * clears it, and a toast of another cause is left alone.
 */

/**
 * @typedef {object} Toast
 * @property {(cause: string, text: string) => void} show
 * @property {(cause: string) => void} clear Hides the toast if it is about `cause`.
 * @property {() => void} dismiss
 */

/**
 * @param {HTMLElement} box The toast element (holds `.toast-text` and `.toast-dismiss`).
 * @returns {Toast}
 */
export function createToast(box) {
  const text = box.querySelector(".toast-text");
  const dismissButton = box.querySelector(".toast-dismiss");
  let current = "";

  const dismiss = () => {
    current = "";
    box.hidden = true;
    if (text) text.textContent = "";
  };
  dismissButton?.addEventListener("click", dismiss);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") dismiss();
  });

  return {
    show(cause, message) {
      current = cause;
      if (text) text.textContent = message;
      box.hidden = false;
    },
    clear(cause) {
      if (current === cause) dismiss();
    },
    dismiss,
  };
}

/**
 * "what failed: why (CODE)" from an ack, an ApiError, an Error or a string.
 * @param {string} what
 * @param {unknown} err
 */
export function describeError(what, err) {
  if (err && typeof err === "object") {
    const e = /** @type {{error?: unknown, message?: unknown, code?: unknown}} */ (err);
    const message = typeof e.error === "string" ? e.error : String(e.message ?? "unknown error");
    return `${what}: ${message}${typeof e.code === "string" ? ` (${e.code})` : ""}`;
  }
  return `${what}: ${err === undefined ? "unknown error" : String(err)}`;
}
