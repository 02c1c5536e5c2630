// @ts-check
/// <reference lib="dom" />
/**
 * "Report message": a modal dialog (a native <dialog>, so Escape closes it and
 * the focus comes back) asking why, with an optional note.
 */

/** @typedef {"spam" | "abuse" | "harassment" | "other"} ReportReason */

export class ReportDialog {
  /** @param {HTMLDialogElement} dialog Holds a form with `reason` radios and a `note`. */
  constructor(dialog) {
    this.dialog = dialog;
    const form = dialog.querySelector("form");
    if (!(form instanceof HTMLFormElement)) throw new Error("layout: the report form is missing");
    this.form = form;
    /** @type {((answer: { reason: ReportReason, note: string } | null) => void) | null} */
    this.resolve = null;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const submitter = /** @type {SubmitEvent} */ (e).submitter;
      if (submitter instanceof HTMLButtonElement && submitter.value === "cancel") {
        return this.finish(null);
      }
      const data = new FormData(form);
      const reason = /** @type {ReportReason} */ (String(data.get("reason") ?? "spam"));
      this.finish({ reason, note: String(data.get("note") ?? "").trim() });
    });
    dialog.addEventListener("close", () => this.finish(null));
  }

  /**
   * Asks why the message is reported; null when the user cancels.
   * @param {string} about A few words of the message, shown in the dialog.
   * @returns {Promise<{ reason: ReportReason, note: string } | null>}
   */
  ask(about) {
    this.finish(null);
    this.form.reset();
    const quoted = this.dialog.querySelector(".report-about");
    if (quoted) quoted.textContent = about;
    this.dialog.showModal();
    return new Promise((resolve) => this.resolve = resolve);
  }

  /** @param {{ reason: ReportReason, note: string } | null} answer */
  finish(answer) {
    const resolve = this.resolve;
    this.resolve = null;
    if (this.dialog.open) this.dialog.close();
    resolve?.(answer);
  }
}
