import { declaredSettings, loadConfig } from "../src/config.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { configError } from "./helpers/config.ts";

const SECRET = "x".repeat(32);

Deno.test("loadConfig() defaults to dev mode on loopback with a SQLite file and no cross-origin access", () => {
  const config = loadConfig({});
  assertEquals(config.port, 3000);
  assertEquals(config.host, "127.0.0.1");
  assertEquals(config.auth.devMode, true);
  assertEquals(config.store, { kind: "sqlite", path: "./data/parley.db" });
  assertEquals(config.warnings, []);
  assertEquals(config.corsOrigins, []);
  assertEquals(config.presence, { broadcast: "partners", graceMs: 1000 });
  assert(Object.isFrozen(config));
});

Deno.test("loadConfig() turns dev mode off when a secret or JWKS is set, and picks MongoDB by URI", () => {
  assertEquals(loadConfig({ JWT_SECRET: SECRET }).auth.devMode, false);
  assertEquals(loadConfig({ JWT_JWKS_URL: "https://idp.example/jwks.json" }).auth.devMode, false);
  const mongo = loadConfig({
    JWT_SECRET: SECRET,
    MONGODB_URI: "mongodb://db:27017",
    HOST: "0.0.0.0",
  });
  assertEquals(mongo.store, { kind: "mongo", uri: "mongodb://db:27017", db: "parley" });
  assertEquals(loadConfig({ CORS_ORIGINS: "https://a.example, https://b.example" }).corsOrigins, [
    "https://a.example",
    "https://b.example",
  ]);
  assertEquals(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins, "*");
  assertEquals(loadConfig({ SQLITE_PATH: ":memory:" }).store, { kind: "sqlite", path: ":memory:" });
});

Deno.test("loadConfig() names the bad variable and the value given", () => {
  assertMatch(configError({ PORT: "http" }), /PORT: .*given: "http"/);
  assertMatch(configError({ PORT: "70000" }), /PORT/);
  assertMatch(configError({ JWT_SECRET: "short" }), /JWT_SECRET: must be at least 32.*\(hidden\)/);
  assertMatch(configError({ MONGODB_URI: "postgres://x" }), /MONGODB_URI/);
  // A bad URL's password is never printed.
  const badUri = configError({ MONGODB_URI: "postgres://app:s3cret-pw@db:5432/x" });
  assertMatch(badUri, /given: "postgres:\/\/app:\(hidden\)@db:5432\/x"/);
  assertEquals(badUri.includes("s3cret"), false);
  assertMatch(configError({ PRESENCE_BROADCAST: "some" }), /PRESENCE_BROADCAST/);
  assertMatch(configError({ JWT_JWKS_URL: "not a url" }), /JWT_JWKS_URL/);
  assertMatch(
    configError({ RATE_LIMIT_SEND: "fast" }),
    /RATE_LIMIT_SEND: must be "<per second>:<burst>"/,
  );
  assertMatch(
    configError({ MESSAGE_ENCRYPTION_KEYS: "k1:c2hvcnQ=" }),
    /MESSAGE_ENCRYPTION_KEYS: .*32 bytes.*\(hidden\)/,
  );
});

Deno.test("loadConfig() reads rate limits and encryption keys", () => {
  const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
  const config = loadConfig({
    RATE_LIMIT_SEND: "2.5:5",
    MESSAGE_ENCRYPTION_KEYS: `k2:${key},k1:${key}`,
  });
  assertEquals(config.rateLimits?.send, { perSecond: 2.5, burst: 5 });
  assertEquals(config.rateLimits?.connect, { perSecond: 20, burst: 60 });
  assertEquals(config.encryptionKeys.map((k) => k.id), ["k2", "k1"]);
  assertEquals(loadConfig({ RATE_LIMITS: "off" }).rateLimits, null);
});

Deno.test("loadConfig() refuses dev mode on a non-loopback HOST", () => {
  assertMatch(configError({ HOST: "0.0.0.0" }), /HOST: dev mode.*"0\.0\.0\.0"/);
  assertEquals(loadConfig({ HOST: "localhost" }).auth.devMode, true);
  assertEquals(loadConfig({ HOST: "::1" }).auth.devMode, true);
  assertEquals(loadConfig({ HOST: "0.0.0.0", JWT_SECRET: SECRET }).host, "0.0.0.0");
});

Deno.test("main.ts exits with code 1 and a clear message on a bad value", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("../main.ts", import.meta.url).pathname],
    env: { PORT: "not-a-port", HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(result.code, 1);
  assertMatch(
    new TextDecoder().decode(result.stderr),
    /Invalid configuration:\n\s+PORT: .*"not-a-port"/,
  );
});

Deno.test("loadConfig() ignores a leftover KV_PATH with one warning naming SQLITE_PATH", () => {
  const config = loadConfig({ KV_PATH: "./data/old.kv", SQLITE_PATH: "./data/chat.db" });
  assertEquals(config.store, { kind: "sqlite", path: "./data/chat.db" });
  assertEquals(config.warnings.length, 1);
  assertMatch(config.warnings[0]!, /KV_PATH is ignored.*SQLITE_PATH.*"\.\/data\/chat\.db"/);
});

Deno.test("loadConfig() refuses CORS_ORIGINS entries no browser sends as its Origin, naming each", () => {
  const message = configError({
    CORS_ORIGINS: "https://ok.example, localhost:5173, http://x/app, https://Caps.example",
  });
  assertMatch(message, /CORS_ORIGINS: "localhost:5173" is not an origin/);
  assertMatch(
    message,
    /CORS_ORIGINS: "http:\/\/x\/app" is not an origin.*did you mean http:\/\/x\?/,
  );
  assertMatch(message, /"https:\/\/Caps\.example" is not an origin.*https:\/\/caps\.example\?/);
  assert(!message.includes('"https://ok.example" is not'));
  assertMatch(
    configError({ CORS_ORIGINS: "https://a.example/" }),
    /did you mean https:\/\/a\.example\?/,
  );
  assertMatch(configError({ CORS_ORIGINS: "https://a.example:443" }), /is not an origin/);
  assertEquals(
    loadConfig({ CORS_ORIGINS: "http://localhost:5173,capacitor://localhost" }).corsOrigins,
    ["http://localhost:5173", "capacitor://localhost"],
  );
});

/** `{name: default}` of every row of the README's tables headed `| Variable | Default |`. */
async function readmeSettings(): Promise<Map<string, string | undefined>> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const settings = new Map<string, string | undefined>();
  let inTable = false;
  for (const line of readme.split("\n")) {
    if (/^\|\s*Variable\s*\|\s*Default\s*\|/.test(line)) inTable = true;
    else if (!line.startsWith("|")) inTable = false;
    else if (inTable && !/^\|\s*-/.test(line)) {
      const [names = "", shown = ""] = line.split("|").slice(1).map((cell) => cell.trim());
      // A default is written as code (`PUSH_ENDPOINT_HOSTS` lists several); "–", "(any)": none.
      const codes = [...shown.matchAll(/`([^`]*)`/g)].map((match) => match[1]);
      const value = codes.length > 0 ? codes.join(",") : undefined;
      for (const [, name] of names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) {
        assert(
          !settings.has(name!) || settings.get(name!) === value,
          `${name} is listed twice with different defaults`,
        );
        settings.set(name!, value);
      }
    }
  }
  return settings;
}

Deno.test("the README's configuration tables list exactly the declared variables, with their defaults", async () => {
  const declared = declaredSettings();
  const listed = await readmeSettings();
  assertEquals([...listed.keys()].sort(), declared.map((s) => s.name).sort());
  for (const setting of declared) {
    assertEquals(listed.get(setting.name), setting.default, `${setting.name}'s default`);
    assert(setting.description.length > 0, `${setting.name} has no description`);
  }
});
