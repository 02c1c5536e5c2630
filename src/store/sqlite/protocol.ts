/** The messages between the main thread and a database worker (worker.ts). */
import type { ErrorCode } from "../../errors.ts";
import type { ReadName, WriteName } from "./operations.ts";

export type Role = "writer" | "reader" | "checkpointer";

export type WorkerRequest =
  | { type: "open"; path: string; role: Role }
  | { type: "write"; batch: number; ops: { name: WriteName; args: unknown }[] }
  | { type: "read"; id: number; name: ReadName; args: unknown }
  | { type: "checkpoint"; id: number }
  | { type: "close" };

/** An operation's failure: a refusal (`code`) or a failure of the database itself. */
export interface WireError {
  /** Set when the operation refused with an AppError. */
  code?: ErrorCode;
  message: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: WireError };

export type WorkerReply =
  | { type: "opened" }
  | { type: "openFailed"; error: WireError }
  | { type: "written"; batch: number; results: Outcome[] }
  | { type: "read"; id: number; outcome: Outcome }
  | { type: "checkpointed"; id: number; outcome: Outcome }
  | { type: "closed" };
