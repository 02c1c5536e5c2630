/**
 * Lua scripts run by Redis: each one reads and changes shared state in one atomic step,
 * so that two nodes can never both decide to announce the same change.
 */
import type { RedisClient } from "./redis_link.ts";

/** A Lua script sent by SHA once Redis has it (EVALSHA), by text the first time. */
export class Script {
  private sha?: string;

  constructor(readonly source: string) {}

  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    this.sha ??= await sha1(this.source);
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand(["EVALSHA", this.sha, ...tail]);
    } catch (err) {
      // After a Redis restart its script cache is empty.
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return await client.sendCommand(["EVAL", this.source, ...tail]);
    }
  }
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Milliseconds on Redis's clock, so that nodes with skewed clocks agree. */
export const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Presence keys (prefix P):
//   P:user:<id>        hash: n:<node> = "1" per node with a socket of the user,
//                      online = "1" while announced online, left/leftBy = the last leave
//   P:node:<id>:users  set: users a node answers for (sockets, or an offline not yet settled)
//   P:node:<id>        a node's heartbeat, with a TTL
//   P:nodes            set: nodes that registered and were not yet taken over

/**
 * First socket of a user on a node. KEYS: user hash, node's users; ARGV: node, user.
 * Returns 1 when the user was offline everywhere: this node announces "online".
 */
export const PRESENCE_CONNECT = new Script(`
redis.call('HSET', KEYS[1], 'n:' .. ARGV[1], '1')
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'online') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'online', '1')
return 1
`);

/** Last socket of a user on a node left. KEYS: user hash; ARGV: node. */
export const PRESENCE_DISCONNECT = new Script(
  NOW + `
redis.call('HDEL', KEYS[1], 'n:' .. ARGV[1])
redis.call('HSET', KEYS[1], 'left', tostring(now), 'leftBy', ARGV[1])
return 1
`,
);

/**
 * Is the user gone everywhere? KEYS: user hash, node's users; ARGV: node, user, grace ms,
 * force ("1": ignore later leaves elsewhere), own ("1": a node settling its own user).
 * Returns 0 (still connected somewhere, or another node settles it later),
 * 1 (offline now: announce it; the state is cleared), 2 (already offline).
 */
export const PRESENCE_EXPIRE = new Script(
  NOW + `
local fields = redis.call('HGETALL', KEYS[1])
local sockets, online, left, leftBy = false, false, 0, ''
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 2) == 'n:' then sockets = true
  elseif name == 'online' then online = true
  elseif name == 'left' then left = tonumber(fields[i + 1])
  elseif name == 'leftBy' then leftBy = fields[i + 1] end
end
if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[1], 'n:' .. ARGV[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
end
if sockets then return 0 end
-- Someone left later on another node: that node's own grace timer settles it.
if ARGV[4] ~= '1' and leftBy ~= ARGV[1] and now - left < tonumber(ARGV[3]) then return 0 end
if not online then return 2 end
redis.call('DEL', KEYS[1])
return 1
`,
);

/**
 * A node's heartbeat. KEYS: its heartbeat key, the node set; ARGV: node, ttl ms.
 * Returns 1 when the node was not registered (first beat, taken over, or Redis lost its data).
 */
export const NODE_HEARTBEAT = new Script(`
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
return redis.call('SADD', KEYS[2], ARGV[1])
`);

/**
 * Takes over a dead node. KEYS: node set, its heartbeat, its users; ARGV: node, key prefix.
 * Only one sweeper wins; it gets the node's users (their sockets on it are forgotten).
 * Returns false when the node is alive or already taken over.
 */
export const NODE_TAKE_OVER = new Script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return false end
local users = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[3])
for _, user in ipairs(users) do
  redis.call('HDEL', ARGV[2] .. ':user:' .. user, 'n:' .. ARGV[1])
end
return users
`);

/**
 * Rewrites a node's share of presence from what it knows locally (after an outage).
 * KEYS: node's users; ARGV: node, key prefix, then pairs of user and "1" (has sockets)
 * or "0" (its offline is not settled yet). Returns {users now marked online that were not,
 * users the node no longer answers for}.
 */
export const NODE_RESYNC = new Script(`
local node, prefix = ARGV[1], ARGV[2]
local before = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
local keep, marked, gone = {}, {}, {}
for i = 3, #ARGV, 2 do
  local user = ARGV[i]
  local key = prefix .. ':user:' .. user
  keep[user] = true
  redis.call('SADD', KEYS[1], user)
  if ARGV[i + 1] == '1' then
    redis.call('HSET', key, 'n:' .. node, '1')
    if redis.call('HEXISTS', key, 'online') == 0 then
      redis.call('HSET', key, 'online', '1')
      table.insert(marked, user)
    end
  else
    redis.call('HDEL', key, 'n:' .. node)
  end
end
for _, user in ipairs(before) do
  if not keep[user] then
    redis.call('HDEL', prefix .. ':user:' .. user, 'n:' .. node)
    table.insert(gone, user)
  end
end
return {marked, gone}
`);
