/**
 * The steps a 1:1 send (ChatService.sendMessage) and a group send
 * (GroupService.send) share around their write; only who gets the message
 * live differs.
 */
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { SendResult } from "./chat_service.ts";
import type { MessageHooks } from "./message_hooks.ts";

/** The attachment as it is stored: as the hooks let it through (or refuse it), null when none. */
export async function checkedFile(
  hooks: MessageHooks,
  senderId: string,
  file: FileAttachment | null | undefined,
): Promise<FileAttachment | null> {
  const checked = file && hooks.checkFile ? await hooks.checkFile(senderId, file) : file;
  return checked ?? null;
}

/**
 * After the write: the `stored` hook (a throw fails the send, also for a
 * duplicate); a new message goes live (`deliver`) and to the `sent` hook; the
 * sender's other connections (all but `answered`, which gets the ack) get
 * `messageSent`.
 */
export async function completeSend(
  { hooks, notify }: { hooks: MessageHooks; notify: Broadcaster },
  callerId: string,
  answered: string | undefined,
  written: Promise<SendResult>,
  deliver: (message: ChatMessage) => void,
): Promise<SendResult> {
  const result = await written;
  await hooks.stored?.(result.message);
  if (!result.duplicate) {
    deliver(result.message);
    hooks.sent?.(result.message);
  }
  notify.toUsersExcept(answered, [callerId], "messageSent", result.message);
  return result;
}
