/**
 * Mutes: a user silences one conversation's push notifications (to them only),
 * until a time or until unmuted. Sockets still get everything.
 */
import { AppError } from "../errors.ts";
import type { ChatStore } from "../store/repository.ts";

/** A conversation's mute as its muter sees it (and the body of the mute routes). */
export interface MuteState {
  /** The conversation partner. */
  userId: string;
  muted: boolean;
  /** When the mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/**
 * When a mute given `until` ends, as stored: null (until unmuted) when left
 * out; VALIDATION_ERROR unless in the future. The same for 1:1 and group mutes.
 */
export function muteEnd(until: string | undefined): string | null {
  const end = until === undefined ? null : new Date(until);
  if (end && end.getTime() <= Date.now()) {
    throw new AppError("VALIDATION_ERROR", "until: must be in the future");
  }
  return end && end.toISOString();
}

export class MuteService {
  constructor(private readonly store: ChatStore) {}

  /** `until` (ISO-8601, in the future) ends the mute; none: until unmuted. Replaces an earlier mute. */
  async mute(callerId: string, partnerId: string, until?: string): Promise<MuteState> {
    if (partnerId === callerId) {
      throw new AppError("VALIDATION_ERROR", "userId: cannot mute a conversation with yourself");
    }
    const mutedUntil = muteEnd(until);
    await this.store.mutes.mute(callerId, partnerId, mutedUntil);
    return { userId: partnerId, muted: true, mutedUntil };
  }

  async unmute(callerId: string, partnerId: string): Promise<MuteState> {
    if (partnerId === callerId) {
      throw new AppError("VALIDATION_ERROR", "userId: cannot mute a conversation with yourself");
    }
    await this.store.mutes.unmute(callerId, partnerId);
    return { userId: partnerId, muted: false, mutedUntil: null };
  }
}
