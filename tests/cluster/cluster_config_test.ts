/** The cluster's configuration: checked before anything starts (no Redis needed). */
import { loadConfig } from "../../src/config.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { configError } from "../helpers/config.ts";

const BASE = { JWT_SECRET: "s".repeat(32) };

Deno.test("loadConfig() refuses REDIS_URL without MONGODB_URI, naming both and why", () => {
  const message = configError({ ...BASE, REDIS_URL: "redis://127.0.0.1:6379" });
  assert(message.includes("REDIS_URL"), message);
  assert(message.includes("MONGODB_URI"), message);
  assert(message.includes("one SQLite file serves one process"), message);
});

Deno.test("loadConfig() reads the cluster settings, and none without REDIS_URL", () => {
  const config = loadConfig({
    ...BASE,
    REDIS_URL: "redis://:pw@redis:6379/0",
    MONGODB_URI: "mongodb://mongo:27017/",
    CLUSTER_NODE_TTL_MS: "3000",
  });
  assertEquals(config.cluster, { redisUrl: "redis://:pw@redis:6379/0", nodeTtlMs: 3000 });
  assertEquals(loadConfig({ ...BASE, MONGODB_URI: "mongodb://mongo:27017/" }).cluster, undefined);
  assertEquals(
    loadConfig({ ...BASE, REDIS_URL: "rediss://r:6380", MONGODB_URI: "mongodb://m/" }).cluster
      ?.nodeTtlMs,
    15_000,
  );
});

Deno.test("loadConfig() refuses a REDIS_URL that is not redis:// or rediss://", () => {
  const message = configError({
    ...BASE,
    REDIS_URL: "http://redis:6379",
    MONGODB_URI: "mongodb://m/",
  });
  assert(message.includes("REDIS_URL: must start with redis://"), message);
});
