# Parley: one process serving REST, the test page and Socket.IO on one port.
FROM denoland/deno:2.9.6

WORKDIR /app

# Dependencies first, in a layer of their own: `deno install` downloads every package of
# deno.json's imports at the versions deno.lock pins (--frozen: a lock file that does not
# match fails the build), so a change to the code below reuses this layer.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY main.ts ./
COPY src/ ./src/
COPY public/ ./public/
# Resolves the code against the packages already installed; only the two type packages the
# code names with @ts-types (a few kB, for type checks) are fetched here.
RUN deno cache --frozen main.ts src/store/sqlite/worker.ts src/store/mongo/mongo_backend.ts \
  && mkdir -p /app/data && chown -R deno:deno /app/data

USER deno
ENV HOST=0.0.0.0 \
    PORT=3000 \
    SQLITE_PATH=/app/data/parley.db
# HOST=0.0.0.0 is refused in dev mode: set JWT_SECRET or JWT_JWKS_URL.
EXPOSE 3000
VOLUME ["/app/data"]

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '3000') + '/healthz'); Deno.exit(r.ok ? 0 : 1)"]

CMD ["deno", "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "main.ts"]
