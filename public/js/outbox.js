// @ts-check
/// <reference lib="dom" />
/**
 * Messages on their way out. Each keeps the `clientMessageId` it was given when
 * typed, so a retry, or the resend after a reconnect, can never store it twice:
 * the server answers a repeated id with the stored original (`duplicate: true`).
 */
import { uuid } from "./format.js";
import { groupIdOf } from "./groups.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").FileAttachment} FileAttachment */
/** @typedef {import("./connection.js").Connection} Connection */

/**
 * @typedef {object} Outgoing
 * @property {string} clientMessageId
 * @property {string} receiverId The conversation's key: the partner, or a group's (groups.js).
 * @property {string | null} text
 * @property {FileAttachment | null} file
 * @property {string | null} [replyTo] The id of the message it replies to.
 * @property {string} createdAt When it was typed (orders it among pending ones).
 * @property {"pending" | "failed"} state
 * @property {string} [error]
 * @property {boolean} [unanswered] It failed for want of an answer (time-out, lost
 *   connection), not by a refusal: the next connect sends it again by itself.
 */

/** Longer than a send takes under load, shorter than a person's patience. */
export const SEND_TIMEOUT_MS = 10_000;

/**
 * @typedef {object} OutboxEvents
 * @property {(o: Outgoing) => void} changed A pending message was added or changed state.
 * @property {(o: Outgoing, stored: ChatMessage) => void} stored Its stored copy arrived.
 */

export class Outbox {
  /**
   * @param {Connection} connection
   * @param {OutboxEvents} events
   */
  constructor(connection, events) {
    this.connection = connection;
    this.events = events;
    /** @type {Map<string, Outgoing>} */
    this.items = new Map();
  }

  /**
   * Queues a message and sends it now if connected (else on the next connect).
   * @param {string} receiverId
   * @param {string | null} text
   * @param {FileAttachment | null} file
   * @param {string | null} [replyTo]
   */
  send(receiverId, text, file, replyTo = null) {
    /** @type {Outgoing} */
    const item = {
      clientMessageId: uuid(),
      receiverId,
      text,
      file,
      replyTo,
      createdAt: new Date().toISOString(),
      state: "pending",
    };
    this.items.set(item.clientMessageId, item);
    this.events.changed(item);
    void this.attempt(item);
  }

  /** Sends a failed message again, with the same clientMessageId. @param {string} clientMessageId */
  retry(clientMessageId) {
    const item = this.items.get(clientMessageId);
    if (!item) return;
    item.state = "pending";
    delete item.error;
    this.events.changed(item);
    void this.attempt(item);
  }

  /** After a reconnect: what never got an answer goes again, same ids. */
  resendPending() {
    for (const item of this.items.values()) {
      if (item.state === "pending") void this.attempt(item);
      else if (item.unanswered) this.retry(item.clientMessageId);
    }
  }

  /** @param {string} receiverId */
  forConversation(receiverId) {
    return [...this.items.values()].filter((o) => o.receiverId === receiverId);
  }

  /** @param {Outgoing} item */
  async attempt(item) {
    if (!this.connection.connected) return; // resendPending() sends it on connect
    const groupId = groupIdOf(item.receiverId);
    /** @type {import("../../src/protocol/types.ts").SendMessagePayload} */
    const payload = groupId
      ? { groupId, clientMessageId: item.clientMessageId }
      : { receiverId: item.receiverId, clientMessageId: item.clientMessageId };
    if (item.text) payload.text = item.text;
    if (item.file) payload.file = item.file;
    if (item.replyTo) payload.replyTo = item.replyTo;
    const res = await this.connection.request("sendMessage", payload, SEND_TIMEOUT_MS);
    if (!this.items.has(item.clientMessageId)) return; // stored meanwhile (messageSent)
    if (res.ok) {
      this.items.delete(item.clientMessageId);
      this.events.stored(item, res.message);
      return;
    }
    item.state = "failed";
    item.error = `${res.error} (${res.code})`;
    item.unanswered = res.code === "TIMEOUT" || res.code === "NOT_CONNECTED";
    this.events.changed(item);
  }

  /**
   * A stored message seen by socket (this user's other tab, or a replay): if it
   * is one of ours, it is no longer pending.
   * @param {ChatMessage} message
   */
  settle(message) {
    const item = message.clientMessageId ? this.items.get(message.clientMessageId) : undefined;
    if (!item) return;
    this.items.delete(item.clientMessageId);
    this.events.stored(item, message);
  }

  clear() {
    this.items.clear();
  }
}
