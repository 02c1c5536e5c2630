/** Configuration refusals, read as the operator reads them. */
import { ConfigError, loadConfig } from "../../src/config.ts";
import { assert } from "./assert.ts";

/** The message `loadConfig(env)` refuses `env` with; throws if it accepts it. */
export function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert(err instanceof ConfigError, String(err));
    return err.message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}
