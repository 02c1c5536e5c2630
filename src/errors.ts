/**
 * The closed table of error codes a client may see. Details of unexpected
 * failures go to the log, never to the client.
 */
export const ERROR_CODES = {
  /** The payload or query failed validation. */
  VALIDATION_ERROR: 400,
  /** No token, or a token that is invalid or expired. */
  UNAUTHORIZED: 401,
  /** The socket's token expired: reconnect with a fresh one. */
  TOKEN_EXPIRED: 401,
  /** The caller is authenticated but may not do this. */
  FORBIDDEN: 403,
  /** The message (or route) does not exist. */
  NOT_FOUND: 404,
  /** The message was deleted; a resend with its client id recreates nothing. */
  DELETED: 410,
  /** The request body is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: 413,
  /** An upload that would take its uploader's stored files past their quota (UPLOAD_QUOTA_BYTES). */
  QUOTA_EXCEEDED: 413,
  /** Search cannot run: messages are encrypted at rest (MESSAGE_ENCRYPTION_KEYS). */
  SEARCH_UNAVAILABLE: 409,
  /** An upload whose bytes are not of an allowed type (the declared type is not trusted). */
  UNSUPPORTED_TYPE: 415,
  /** A download's Range lies outside the file. */
  RANGE_NOT_SATISFIABLE: 416,
  /** Too many requests; retry after `retryAfterMs`. */
  RATE_LIMITED: 429,
  /** The store did not answer in time; retry later. */
  STORE_UNAVAILABLE: 503,
  /** Anything unexpected; the details are in the server log. */
  INTERNAL_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type of the domain; each transport maps it once. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For RATE_LIMITED: when a retry can succeed. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

/** The client-facing shape of an error: `{ error, code }`. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  retryAfterMs?: number;
}

/**
 * Where `toErrorBody` reports each error it turns into an answer. Both are
 * required, so that no refusal goes uncounted: `count` feeds
 * `parley_errors_total{code}` (src/metrics/metrics.ts, `errorReport`).
 */
export interface ErrorReport {
  /** Every error answered to a client, by code. */
  count(code: ErrorCode): void;
  /** An unexpected error: its details go to the log, the client sees INTERNAL_ERROR. */
  unexpected(err: unknown): void;
}

/**
 * Turns anything thrown into what a client may see: the one path of every
 * refusal, REST or socket. Counts it, and logs what the client may not see.
 */
export function toErrorBody(err: unknown, report: ErrorReport): ErrorBody {
  const body: ErrorBody = err instanceof AppError
    ? err.retryAfterMs === undefined
      ? { error: err.message, code: err.code }
      : { error: err.message, code: err.code, retryAfterMs: err.retryAfterMs }
    : { error: "Internal server error", code: "INTERNAL_ERROR" };
  if (!(err instanceof AppError)) report.unexpected(err);
  report.count(body.code);
  return body;
}
