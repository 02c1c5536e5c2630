// @ts-check
/// <reference lib="dom" />
/**
 * Files uploaded to Parley need the token to be read, so previews and downloads
 * fetch them with it and show blob: URLs, kept while the session lasts.
 */

/** @typedef {import("./api.js").Api} Api */

export class UploadCache {
  /** @param {Api} api */
  constructor(api) {
    this.api = api;
    /** @type {Map<string, Promise<string>>} upload URL → blob: URL */
    this.blobs = new Map();
  }

  /** @param {string} url */
  blobUrl(url) {
    let found = this.blobs.get(url);
    if (!found) {
      found = this.api.blob(url).then((b) => URL.createObjectURL(b));
      found.catch(() => this.blobs.delete(url));
      this.blobs.set(url, found);
    }
    return found;
  }

  /**
   * Appends an image preview to `container` once its bytes are here.
   * @param {HTMLElement} container
   * @param {string} url
   * @param {string} name
   */
  async preview(container, url, name) {
    try {
      const img = document.createElement("img");
      img.className = "file-preview";
      img.alt = name;
      img.src = await this.blobUrl(url);
      container.append(img);
    } catch {
      // No preview (removed, or not ours to see); the link still names the file.
    }
  }

  /**
   * Saves the file under its name, as a click on a download link would.
   * @param {string} url
   * @param {string} name
   */
  async download(url, name) {
    const link = document.createElement("a");
    link.href = await this.blobUrl(url);
    link.download = name || "file";
    document.body.append(link);
    link.click();
    link.remove();
  }

  clear() {
    for (const p of this.blobs.values()) p.then((u) => URL.revokeObjectURL(u), () => {});
    this.blobs.clear();
  }
}
