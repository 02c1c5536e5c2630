/** Waiting for socket events without sleeping blindly. */
import type { ServerToClientEvents } from "../../src/protocol/types.ts";
import type { ChatClient } from "./server.ts";

type EventArgs<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];

/** Resolves with the next `event` the client receives (matching `where`), or rejects on timeout. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  client: ChatClient,
  event: E,
  where: (payload: EventArgs<E>) => boolean = () => true,
  timeoutMs = 3000,
): Promise<EventArgs<E>> {
  return new Promise((resolve, reject) => {
    const listener = (payload: EventArgs<E>) => {
      if (!where(payload)) return;
      clearTimeout(timer);
      client.off(event, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      client.off(event, listener as never);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`));
    }, timeoutMs);
    client.on(event, listener as never);
  });
}

/** Collects every `event` the client receives until `stop()` is called. */
export function collect<E extends keyof ServerToClientEvents>(
  client: ChatClient,
  event: E,
): { items: EventArgs<E>[]; stop(): EventArgs<E>[] } {
  const items: EventArgs<E>[] = [];
  const listener = (payload: EventArgs<E>) => items.push(payload);
  client.on(event, listener as never);
  return {
    items,
    stop() {
      client.off(event, listener as never);
      return items;
    },
  };
}

/**
 * Proves an event did NOT arrive: first a round trip through the server on the
 * same connection (an acked `typing`, answered after anything sent before it),
 * then a short settle time for events from other connections.
 */
export async function settle(client: ChatClient, ms = 150): Promise<void> {
  // Up to 15 s: on FerretDB the typing check's read can queue behind a burst of receipts
  // (delivery_test's catch-up of 250 timed out at 3 s in CI).
  await client.timeout(15_000).emitWithAck("typing", { receiverId: "__settle__", isTyping: false });
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true (for store state written off the request path). */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
