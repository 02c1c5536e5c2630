/**
 * Reports: the receiver of a message reports it to the host app's moderators.
 * The store keeps the message's content as it was then; the events webhook
 * (`message.reported`, through the `reported` hook) forwards each new report.
 */
import { AppError } from "../errors.ts";
import type { ReportInput } from "../schemas/inputs.ts";
import type { ChatStore, Report } from "../store/repository.ts";
import type { MessageHooks } from "./message_hooks.ts";

export interface ReportOutcome {
  report: Report;
  /** False when the caller had reported this message already: `report` is that first one. */
  created: boolean;
}

export class ReportService {
  constructor(private readonly store: ChatStore, private readonly hooks: MessageHooks) {}

  async report(callerId: string, messageId: string, input: ReportInput): Promise<ReportOutcome> {
    // Reports name one receiver; a group message has none (README, Groups).
    if ((await this.store.messages.get(messageId))?.groupId) {
      throw new AppError(
        "FORBIDDEN",
        "Group messages cannot be reported: reports are for 1:1 messages",
      );
    }
    const result = await this.store.reports.report({
      messageId,
      reporterId: callerId,
      reason: input.reason,
      note: input.note ? input.note : null,
      createdAt: new Date().toISOString(),
    });
    if (!result.ok) {
      if (result.reason === "not_found") throw new AppError("NOT_FOUND", "Message not found");
      throw new AppError("FORBIDDEN", "Only the receiver of a message can report it");
    }
    if (result.created) await this.hooks.reported?.(result.report);
    return { report: result.report, created: result.created };
  }
}
