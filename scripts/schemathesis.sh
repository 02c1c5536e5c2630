#!/usr/bin/env bash
# Runs schemathesis (pip install schemathesis==4.32.5) against a real Parley:
# starts the server in dev mode on a free loopback port with an in-memory store,
# mints a token, stores a few messages so that list routes answer with real
# rows, then lets schemathesis test every operation of /openapi.json with that
# token. Fails on any 5xx or any response the document does not describe.
# Bounded (a minute or two); stops the server it started. Run from anywhere:
#   bash scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SEED="${SCHEMATHESIS_SEED:-20240601}"

if ! command -v st >/dev/null || ! st --version | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "schemathesis $SCHEMATHESIS_VERSION is needed: python3 -m pip install schemathesis==$SCHEMATHESIS_VERSION" >&2
  exit 1
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
WORK_DIR="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
  fi
  rm -rf "$WORK_DIR"
}
trap stop_server EXIT

# Web Push on (a fresh VAPID key pair), so that /api/push is served and tested too.
VAPID_KEYS="$(deno eval --ext=ts '
  import { generateVapidKeys } from "./src/push/web_push_sender.ts";
  const { publicKey, privateKey } = generateVapidKeys();
  console.log(publicKey, privateKey);
')"
read -r VAPID_PUBLIC_KEY VAPID_PRIVATE_KEY <<<"$VAPID_KEYS"

# Dev mode (no JWT_SECRET/JWT_JWKS_URL) enables POST /api/dev/token; no limits,
# so that a 429 never hides an answer; stores that are gone with the run.
env -u JWT_SECRET -u JWT_JWKS_URL -u MONGODB_URI -u CORS_ORIGINS -u PUBLIC_URL \
  -u PUSH_WEBHOOK_URL -u PUSH_WEBHOOK_SECRET \
  HOST=127.0.0.1 PORT="$PORT" SQLITE_PATH=:memory: UPLOAD_DIR="$WORK_DIR/uploads" \
  RATE_LIMITS=off LOG_LEVEL=warn VAPID_PUBLIC_KEY="$VAPID_PUBLIC_KEY" \
  VAPID_PRIVATE_KEY="$VAPID_PRIVATE_KEY" VAPID_SUBJECT="mailto:schemathesis@example.com" \
  deno run --allow-net --allow-env --allow-read --allow-write --allow-sys main.ts \
  >"$WORK_DIR/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if curl -fs "$BASE/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK_DIR/server.log" >&2
    echo "the server did not start" >&2
    exit 1
  fi
  sleep 0.2
done

token_for() {
  curl -fsS -X POST "$BASE/api/dev/token" -H 'content-type: application/json' \
    -d "{\"userId\":\"$1\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
TOKEN="$(token_for schemathesis)"
PARTNER_TOKEN="$(token_for bob)"

# A few messages both ways, one with a file and one read, so that my-chats,
# conversations and history answer with rows whose schema is then checked.
deno run --allow-net --allow-env - "$BASE" "$TOKEN" "$PARTNER_TOKEN" <<'EOF'
import { io } from "socket.io-client";
const [url, me, bob] = Deno.args;
const connect = (token: string) => io(url, { auth: { token }, transports: ["websocket"] });
const alice = connect(me);
const partner = connect(bob);
const send = async (from: typeof alice, payload: Record<string, unknown>) => {
  const ack = await from.timeout(5000).emitWithAck("sendMessage", payload);
  if (!ack.ok) throw new Error(JSON.stringify(ack));
  return ack.message;
};
partner.on("receiveMessage", (_message: unknown, ack?: () => void) => ack?.());
await send(alice, { receiverId: "bob", text: "hello", clientMessageId: "seed-1" });
const png = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
);
const upload = await fetch(`${url}/api/uploads?name=dot.png`, {
  method: "POST",
  headers: { authorization: `Bearer ${me}`, "content-type": "image/png" },
  body: png,
});
if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
const withFile = await send(alice, { receiverId: "bob", file: await upload.json() });
await send(partner, { receiverId: "schemathesis", text: "hi back" });
await partner.timeout(5000).emitWithAck("messageRead", { messageId: withFile._id });
alice.close();
partner.close();
EOF

# Checks: no 5xx; every status, content type, header and body as documented;
# schema-violating input refused; no route answers without the token; a deleted
# message stays gone. Every check of `--checks all` runs except two:
# positive_data_acceptance (a schema cannot say "not blank once trimmed", "no
# control characters", "base64url of 65 bytes" or "a PNG", so some schema-valid
# ids, push keys and file bytes get their documented 400 or 415) and
# unsupported_method (a method a path does not serve is a JSON 404, not a 405).
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance"
CHECKS="$CHECKS,response_headers_conformance,response_schema_conformance"
CHECKS="$CHECKS,negative_data_rejection,missing_required_header,allow_header_conformance"
CHECKS="$CHECKS,use_after_free,ensure_resource_availability,ignored_auth"
CHECKS="${SCHEMATHESIS_CHECKS:-$CHECKS}"

# In the scratch folder: schemathesis keeps caches (.schemathesis/, .hypothesis/)
# in its working directory. `timeout` bounds a slow machine's run: 200 examples per
# operation took 67 s for 22 operations here, 218 s for 27 on a machine busy with other
# work; 100 keep CI well inside it.
set +e
(cd "$WORK_DIR" && timeout 300 st --no-color run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks "$CHECKS" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 10 \
  --workers 1 \
  --generation-database none)
status=$?
set -e
if [ "$status" -ne 0 ]; then
  if [ "$status" -eq 124 ]; then echo "schemathesis took longer than 300 s" >&2; fi
  echo "--- server log ---" >&2
  tail -n 50 "$WORK_DIR/server.log" >&2
fi
exit "$status"
