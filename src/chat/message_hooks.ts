/**
 * Extension points of ChatService's send, read, edit, report and delete, so
 * that features beside the chat (attachments, push notifications, the events
 * webhook) plug in without the chat rules knowing them. Every hook is optional.
 */
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";
import type { Report } from "../store/repository.ts";

export interface MessageHooks {
  /** Before the write: may refuse the attachment (throw an AppError) or return it corrected. */
  checkFile?(senderId: string, file: FileAttachment): Promise<FileAttachment>;
  /** After the write, before delivery; also for a duplicate send. A throw fails the send. */
  stored?(message: ChatMessage): Promise<void>;
  /** After a new message went to the connected sockets. Must return at once and never throw. */
  sent?(message: ChatMessage): void;
  /** After a delete. Must not throw: the message is already gone. */
  deleted?(message: ChatMessage): Promise<void>;
  /**
   * After the receiver marked the message read (`readAt` set), also for a
   * repeat, so that a retry after a failure here still gets it done. A throw fails the call.
   */
  read?(message: ChatMessage): Promise<void>;
  /** After an edit was stored (`editedAt` set). A throw fails the call. */
  edited?(message: ChatMessage): Promise<void>;
  /** After a report was stored, also for a repeat of it. A throw fails the call. */
  reported?(report: Report): Promise<void>;
}

/** Runs each hook of every part in order (`sent` of all of them, and so on). */
export function combineHooks(...parts: (MessageHooks | undefined)[]): MessageHooks {
  const all = parts.filter((part): part is MessageHooks => part !== undefined);
  return {
    async checkFile(senderId, file) {
      for (const part of all) if (part.checkFile) file = await part.checkFile(senderId, file);
      return file;
    },
    async stored(message) {
      for (const part of all) await part.stored?.(message);
    },
    sent(message) {
      for (const part of all) part.sent?.(message);
    },
    async deleted(message) {
      for (const part of all) await part.deleted?.(message);
    },
    async read(message) {
      for (const part of all) await part.read?.(message);
    },
    async edited(message) {
      for (const part of all) await part.edited?.(message);
    },
    async reported(report) {
      for (const part of all) await part.reported?.(report);
    },
  };
}
