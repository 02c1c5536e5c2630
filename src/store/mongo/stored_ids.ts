/**
 * User ids as the host app's MongoDB holds them. A Mongoose app keys its users
 * by ObjectId and refers to them by ObjectId (`ref: "User"`), while Parley's
 * clients and tokens carry them as strings. Only ids written as 24 lowercase
 * hex digits (what an ObjectId's `toString()` gives) become ObjectIds, so that
 * every stored id reads back exactly as it was given; any other id stays a
 * string.
 */
import { ObjectId } from "mongodb";

/** A user id as stored: a string, or an ObjectId ({@linkcode asHostId}). */
export type StoredId = string | ObjectId;

const OBJECT_ID_TEXT = /^[0-9a-f]{24}$/;

/** The id as a Mongoose app stores it: an ObjectId when it is one written out, else the string. */
export function asHostId(userId: string): StoredId {
  return OBJECT_ID_TEXT.test(userId) ? new ObjectId(userId) : userId;
}

/** The id as clients see it. */
export function idText(id: StoredId): string {
  return typeof id === "string" ? id : id.toHexString();
}

/** How message documents store `senderId` and `receiverId` (`MONGODB_ID_TYPE`). */
export type IdType = "string" | "objectId";

/** Converts user ids at the store's boundary, both ways. */
export interface UserIdCodec {
  /** The id as a message document stores it. */
  toStored(userId: string): StoredId;
}

export function userIdCodec(type: IdType): UserIdCodec {
  return { toStored: type === "objectId" ? asHostId : (userId) => userId };
}
