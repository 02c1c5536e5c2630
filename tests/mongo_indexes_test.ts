/**
 * Every read of the MongoDB repository is served by an index. The shapes come
 * from src/store/mongo/queries.ts, the same module the repository queries with.
 */
import { MongoClient, ObjectId } from "mongodb";
import { ensureIndexes } from "../src/store/mongo/indexes.ts";
import { queries, type QueryShape } from "../src/store/mongo/queries.ts";
import { assert } from "./helpers/assert.ts";
import { MONGODB_URI } from "./helpers/server.ts";

const SHAPES: Record<string, QueryShape> = {
  messageById: queries.messageById(new ObjectId()),
  history: queries.history(JSON.stringify(["a", "b"])),
  historyBefore: queries.history(JSON.stringify(["a", "b"]), new ObjectId()),
  myChats: queries.myChats("a"),
  byClientId: queries.byClientId("a", "cid"),
  undelivered: queries.undelivered("a"),
  undeliveredAfter: queries.undelivered("a", new ObjectId()),
  conversations: queries.conversations("a"),
  lastMessages: queries.lastMessages([new ObjectId()]),
  usersById: queries.usersById(["a"]),
  onlineUsers: queries.onlineUsers(),
  search: queries.search(["a\u0000word"]),
  searchBefore: queries.search(["a\u0000word"], undefined, new ObjectId()),
  quoting: queries.quoting("x"),
  blockedBy: queries.blockedBy("a"),
  blockersOf: queries.blockersOf("a"),
  reportsBefore: queries.reportsNewestFirst(new ObjectId()),
  reportOf: queries.reportOf("a", "m"),
};

/** Stages of a MongoDB explain plan, depth first. */
function stages(plan: unknown): string[] {
  if (!plan || typeof plan !== "object") return [];
  const node = plan as Record<string, unknown>;
  const own = typeof node.stage === "string" ? [node.stage] : [];
  const children = [node.inputStage, ...(Array.isArray(node.inputStages) ? node.inputStages : [])];
  return [...own, ...children.flatMap(stages)];
}

/** True when an index's leading key is the query's first filter field, and it also holds the sort key. */
function covered(shape: QueryShape, indexes: { key: Record<string, number> }[]): boolean {
  // Applied to what the index found: tombstones and delete-for-me (queries.ts).
  const fields = Object.keys(shape.filter).filter((f) => f !== "deletedAt" && f !== "hiddenFor");
  const sortKeys = Object.keys(shape.sort ?? {});
  return indexes.some(({ key }) => {
    const keys = Object.keys(key);
    return keys[0] === fields[0] && fields.every((f) => keys.includes(f)) &&
      sortKeys.every((s) => keys.includes(s) || s === "_id");
  });
}

Deno.test({
  name:
    "every MongoDB repository query is served by an index (explain() where the server reports plans)",
  ignore: !MONGODB_URI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const client = new MongoClient(MONGODB_URI!);
    const db = client.db(`parley_indexes_${Date.now()}`);
    try {
      await ensureIndexes(db);
      await ensureIndexes(db); // idempotent
      await db.collection("messages").insertOne({
        conversationId: "x",
        participants: ["a"],
        senderId: "a",
      });
      await db.collection("conversations").insertOne({ _id: "x" as never, ownerId: "a" });
      await db.collection("users").insertOne({ _id: "a" as never });
      let reportsPlans = false;
      for (const [name, shape] of Object.entries(SHAPES)) {
        const collection = db.collection(shape.collection);
        const indexes = await collection.listIndexes().toArray() as {
          key: Record<string, number>;
        }[];
        assert(
          covered(shape, indexes),
          `${name}: no index leads with its filter and holds its sort`,
        );
        const explained = await collection.find(shape.filter, { sort: shape.sort }).explain();
        const winning = (explained.queryPlanner as Record<string, unknown> | undefined)
          ?.winningPlan;
        if (!winning) continue;
        reportsPlans = true;
        const seen = stages(winning);
        assert(!seen.includes("COLLSCAN"), `${name}: collection scan (${seen.join(" > ")})`);
      }
      if (!reportsPlans) {
        console.warn(
          "explain(): this server reports no MongoDB query plans (FerretDB); index coverage checked from listIndexes",
        );
      }
    } finally {
      await db.dropDatabase().catch(() => {});
      await client.close();
    }
  },
});
