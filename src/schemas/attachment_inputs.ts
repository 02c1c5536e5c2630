/** Zod schemas for the upload and push-subscription routes. */
import { z } from "zod";

/** `POST /api/uploads?name=…` (a raw body has no other place for its name). */
export const UploadQuery = z.object({
  name: z.string().trim().min(1).max(255).optional(),
});

/** `GET /api/uploads/:id`: ids are ULIDs; anything else is simply not found. */
export const UploadId = z.string().min(1).max(64);

/** base64url (padding tolerated) decoding to exactly `bytes` bytes. */
function base64urlBytes(bytes: number, what: string) {
  return z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, `must be base64url`).refine(
    (text) => decodedLength(text) === bytes,
    `must be ${what} (${bytes} bytes, base64url)`,
  );
}

function decodedLength(text: string): number {
  const plain = text.replace(/=+$/, "");
  return Math.floor((plain.length * 3) / 4);
}

/** What a browser's `PushSubscription.toJSON()` gives. */
export const PushSubscriptionInput = z.object({
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
  expirationTime: z.number().int().nonnegative().nullish(),
  keys: z.object({
    p256dh: base64urlBytes(65, "an uncompressed P-256 public key")
      .refine((key) => key.startsWith("B"), "must be an uncompressed P-256 public key"),
    auth: base64urlBytes(16, "the 16-byte auth secret"),
  }),
});
export type PushSubscriptionInput = z.infer<typeof PushSubscriptionInput>;

export const PushUnsubscribeInput = z.object({
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
});
