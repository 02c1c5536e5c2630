/**
 * Users from the host app's own collection (`MONGODB_USERS_COLLECTION`), as a
 * Mongoose app keeps them: `{ _id: ObjectId, username, email, password, … }`.
 * Parley reads them and writes `isOnline` and `lastSeen` into them, never
 * another field and never a new document (every write is an `updateOne`
 * without upsert whose `$set` names those two fields only). Reads ask for the
 * few fields Parley shows, so a password hash never leaves the database.
 *
 * `_id` is matched as an ObjectId when the id is one written out
 * (stored_ids.ts), else as a string. The display name is the field named by
 * `USER_NAME_FIELD` (a dotted path reaches into a subdocument).
 */
import type { Collection, Db, Document } from "mongodb";
import type { User, UserProfile, UserRepository } from "../repository.ts";
import { inChunks, inRounds, KeyedSerialQueue } from "./ferretdb.ts";
import { storeCall } from "./store_errors.ts";
import { asHostId, idText, type StoredId } from "./stored_ids.ts";

export interface HostUsersOptions {
  collection: string;
  /** Field (or dotted path) of the display name. */
  nameField: string;
}

/** The store's tracking of writes under way (mongo_store.ts): `close()` waits for them. */
interface WriteTracker {
  track<T>(write: Promise<T>): Promise<T>;
}

interface HostUserDoc extends Document {
  _id: StoredId;
  isOnline?: boolean;
  lastSeen?: Date;
}

export class MongoHostUserRepository implements UserRepository {
  readonly hostUsers = true;
  private readonly users: Collection<HostUserDoc>;
  private readonly projection: Record<string, 1>;
  /** One presence write of a user at a time (ferretdb.ts, item 1). */
  private readonly userWrites = new KeyedSerialQueue();

  constructor(
    db: Db,
    private readonly options: HostUsersOptions,
    private readonly writes: WriteTracker,
  ) {
    this.users = db.collection<HostUserDoc>(options.collection);
    this.projection = {
      [options.nameField]: 1,
      email: 1,
      isOnline: 1,
      lastSeen: 1,
      createdAt: 1,
      updatedAt: 1,
    };
  }

  /** Writes nothing: the host app owns its users' profiles. */
  async upsertProfile(userId: string, profile: UserProfile): Promise<User> {
    const stored = await this.get(userId);
    if (stored) return stored;
    // Not in the host's collection: described, never created.
    const now = new Date().toISOString();
    return {
      _id: userId,
      username: profile.username ?? null,
      email: null,
      isOnline: false,
      lastSeen: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  setPresence(userId: string, isOnline: boolean, lastSeen: string): Promise<void> {
    return this.writes.track(storeCall(async () => {
      await this.userWrites.run(userId, () =>
        this.users.updateOne(
          { _id: asHostId(userId) },
          { $set: { isOnline, lastSeen: new Date(lastSeen) } },
        ));
    }));
  }

  /**
   * Users stored online, set offline. The host's collection has no index of
   * `isOnline` (Parley creates none there), so this start-up step reads it whole.
   */
  markAllOffline(lastSeen: string): Promise<number> {
    return this.writes.track(storeCall(async () => {
      const online = { isOnline: true };
      return await inRounds(this.users, online, async (ids) => {
        const result = await this.users.updateMany({ ...online, _id: { $in: ids } }, {
          $set: { isOnline: false },
          $max: { lastSeen: new Date(lastSeen) },
        });
        return result.modifiedCount;
      });
    }));
  }

  get(userId: string): Promise<User | null> {
    return storeCall(async () => {
      const doc = await this.users.findOne({ _id: asHostId(userId) }, {
        projection: this.projection,
      });
      return doc ? this.toUser(doc) : null;
    });
  }

  getMany(userIds: readonly string[]): Promise<Map<string, User>> {
    return storeCall(async () => {
      const found = new Map<string, User>();
      for (const ids of inChunks([...new Set(userIds)])) {
        const docs = await this.users.find({ _id: { $in: ids.map(asHostId) } }, {
          projection: this.projection,
        }).toArray();
        for (const doc of docs) found.set(idText(doc._id), this.toUser(doc));
      }
      return found;
    });
  }

  /** The erasure's part here: the two fields Parley wrote go; the host's document stays. */
  forgetPresence(userId: string): Promise<void> {
    return this.writes.track(storeCall(async () => {
      await this.userWrites.run(
        userId,
        () =>
          this.users.updateOne({ _id: asHostId(userId) }, {
            $unset: { isOnline: "", lastSeen: "" },
          }),
      );
    }));
  }

  private toUser(doc: HostUserDoc): User {
    const name = this.options.nameField.split(".").reduce<unknown>(
      (
        value,
        key,
      ) => (value !== null && typeof value === "object" ? (value as Document)[key] : undefined),
      doc,
    );
    const created = dateOf(doc.createdAt) ??
      (typeof doc._id === "string" ? new Date(0) : doc._id.getTimestamp());
    return {
      _id: idText(doc._id),
      username: typeof name === "string" ? name : null,
      email: typeof doc.email === "string" ? doc.email : null,
      isOnline: doc.isOnline === true,
      lastSeen: dateOf(doc.lastSeen)?.toISOString() ?? null,
      createdAt: created.toISOString(),
      updatedAt: (dateOf(doc.updatedAt) ?? created).toISOString(),
    };
  }
}

function dateOf(value: unknown): Date | null {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value : null;
}
