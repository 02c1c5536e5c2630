/** The REST calls the CLI makes, with failures turned into `CliError(code, message)`. */
import type { ChatMessage, ConversationRow, GroupConversationRow } from "../protocol/types.ts";

/** A failure the CLI prints as `! CODE: message`. */
export class CliError extends Error {
  override name = "CliError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Fetches a dev-mode token for `userId` (the server must run without JWT_SECRET). */
export async function fetchDevToken(baseUrl: string, userId: string): Promise<string> {
  const res = await request(baseUrl, "/api/dev/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  if (res.status === 404) {
    await res.body?.cancel();
    throw new CliError(
      "NOT_FOUND",
      "dev tokens are disabled (the server is not in dev mode): pass --token instead",
    );
  }
  const data = await json(res);
  if (typeof data.token !== "string") throw new CliError("INTERNAL_ERROR", "no token in answer");
  return data.token;
}

/** `GET /api/chats/conversations`: one row per partner or group, most recent first. */
export async function listConversations(
  baseUrl: string,
  token: string,
  limit = 50,
): Promise<(ConversationRow | GroupConversationRow)[]> {
  const res = await request(baseUrl, `/api/chats/conversations?limit=${limit}&skip=0`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const data = await json(res);
  if (!Array.isArray(data)) throw new CliError("INTERNAL_ERROR", "conversations: not a list");
  return data as (ConversationRow | GroupConversationRow)[];
}

/** `GET /api/chats/search`: my messages holding every word of `q`, newest first. */
export async function searchMessages(
  baseUrl: string,
  token: string,
  q: string,
  limit = 20,
): Promise<ChatMessage[]> {
  const query = new URLSearchParams({ q, limit: String(limit) });
  const res = await request(baseUrl, `/api/chats/search?${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const data = await json(res);
  if (!Array.isArray(data)) throw new CliError("INTERNAL_ERROR", "search: not a list");
  return data as ChatMessage[];
}

async function request(baseUrl: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, baseUrl), init);
  } catch (err) {
    throw new CliError(
      "NETWORK_ERROR",
      `${baseUrl} did not answer (${err instanceof Error ? err.message : err})`,
    );
  }
}

/** The JSON body of a 2xx answer; `{error, code}` of any other becomes a CliError. */
// deno-lint-ignore no-explicit-any
async function json(res: Response): Promise<any> {
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw new CliError(
      typeof data?.code === "string" ? data.code : `HTTP_${res.status}`,
      typeof data?.error === "string" ? data.error : res.statusText,
    );
  }
  return data;
}
