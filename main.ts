/** Starts one Parley process from the environment. */
import { ConfigError, loadConfig } from "./src/config.ts";
import { checkDataDirectories } from "./src/data_directories.ts";
import { createLogger } from "./src/log.ts";
import { type RunningParley, startParley } from "./src/server.ts";
import { describeStartupFailure } from "./src/startup_errors.ts";

if (import.meta.main) {
  let config;
  try {
    config = loadConfig(Deno.env.toObject());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(1);
  }
  const log = createLogger(config.logLevel);
  if (config.auth.devMode) {
    log.warn(
      "DEV MODE: no JWT_SECRET or JWT_JWKS_URL is set. Tokens are signed with a random " +
        "per-process key and anyone who can reach POST /api/dev/token can mint one. " +
        "Never run like this in production.",
    );
  }
  let parley: RunningParley;
  try {
    await checkDataDirectories(config);
    parley = await startParley(config, log);
  } catch (err) {
    // One line that says what to fix, no stack trace (startup_errors.ts).
    console.error(describeStartupFailure(err, config));
    Deno.exit(1);
  }
  log.info("parley listening", { url: parley.url, store: parley.store.kind });

  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await parley.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
}
