// @ts-check
/// <reference lib="dom" />
/** REST calls to Parley with the current token; errors become ApiError {message, code, status}. */

/** @typedef {import("../../src/protocol/types.ts").FileAttachment} FileAttachment */

export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {number} status
   */
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * @param {unknown} data
 * @param {number} status
 */
function errorFrom(data, status) {
  const body = data && typeof data === "object"
    ? /** @type {Record<string, unknown>} */ (data)
    : {};
  return new ApiError(
    typeof body.error === "string" ? body.error : `HTTP ${status}`,
    typeof body.code === "string" ? body.code : `HTTP_${status}`,
    status,
  );
}

/**
 * @typedef {object} Api
 * @property {(method: string, path: string, body?: unknown) => Promise<unknown>} json
 * @property {(file: File, onProgress: (fraction: number) => void) => Promise<FileAttachment>} upload
 * @property {(url: string) => Promise<Blob>} blob
 * @property {(url: string) => boolean} isOwnUpload
 */

/**
 * @param {string} server Parley's origin, e.g. `location.origin` or the embed's `server`.
 * @param {() => Promise<string>} token The current token (refreshed by the caller when expired).
 * @returns {Api}
 */
export function createApi(server, token) {
  const base = new URL(server);

  /** @param {string} path */
  const url = (path) => new URL(path, base).href;

  return {
    async json(method, path, body) {
      /** @type {Record<string, string>} */
      const headers = { Accept: "application/json", Authorization: `Bearer ${await token()}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let res;
      try {
        res = await fetch(url(path), {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        throw new ApiError(`network error (${String(err)})`, "NETWORK_ERROR", 0);
      }
      const data = await res.json().catch(() => null);
      if (!res.ok) throw errorFrom(data, res.status);
      return data;
    },

    // XMLHttpRequest, not fetch: only it reports upload progress.
    async upload(file, onProgress) {
      const bearer = await token();
      return await new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", url(`/api/uploads?name=${encodeURIComponent(file.name)}`));
        xhr.setRequestHeader("Authorization", `Bearer ${bearer}`);
        xhr.setRequestHeader("Accept", "application/json");
        if (file.type) xhr.setRequestHeader("Content-Type", file.type);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        };
        xhr.onerror = () => reject(new ApiError("network error", "NETWORK_ERROR", 0));
        xhr.onload = () => {
          let data = null;
          try {
            data = JSON.parse(xhr.responseText);
          } catch { /* not JSON: the status says enough */ }
          if (xhr.status >= 200 && xhr.status < 300 && data) resolve(data);
          else reject(errorFrom(data, xhr.status));
        };
        xhr.send(file);
      });
    },

    async blob(fileUrl) {
      const res = await fetch(fileUrl, { headers: { Authorization: `Bearer ${await token()}` } });
      if (!res.ok) throw errorFrom(await res.json().catch(() => null), res.status);
      return await res.blob();
    },

    isOwnUpload(fileUrl) {
      try {
        const parsed = new URL(fileUrl);
        return parsed.origin === base.origin && parsed.pathname.startsWith("/api/uploads/");
      } catch {
        return false;
      }
    },
  };
}

/**
 * `POST /api/dev/token` (dev mode only).
 * @param {string} server
 * @param {string} userId
 * @param {string} [username]
 * @returns {Promise<string>}
 */
export async function fetchDevToken(server, userId, username) {
  let res;
  try {
    res = await fetch(new URL("/api/dev/token", server), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(username ? { userId, username } : { userId }),
    });
  } catch (err) {
    throw new ApiError(`network error (${String(err)})`, "NETWORK_ERROR", 0);
  }
  const data = await res.json().catch(() => null);
  if (res.status === 404) {
    throw new ApiError(
      "dev tokens are disabled (the server is not in dev mode); paste a JWT instead",
      "NOT_FOUND",
      404,
    );
  }
  if (!res.ok) throw errorFrom(data, res.status);
  const token = data && typeof data === "object"
    ? /** @type {{token?: unknown}} */ (data).token
    : null;
  if (typeof token !== "string") throw new ApiError("no token in answer", "INTERNAL_ERROR", 200);
  return token;
}
