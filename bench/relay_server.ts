/**
 * The bench's baseline: a bare Socket.IO relay on the same runtime and port
 * setup as Parley (one `node:http` server, Socket.IO 4.8 attached to it), with
 * a room per user and nothing else: no auth, no validation, no storage, no
 * delivery acknowledgements. It speaks the subset of Parley's events the load
 * generator uses, so one client drives both.
 *
 *   deno run -A bench/relay_server.ts   (PORT from the environment, 0 picks one)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";

interface RelayPayload {
  receiverId: string;
  text?: string;
  clientMessageId?: string;
}

type Ack = (answer: object) => void;

if (import.meta.main) {
  let nextId = 0;
  const httpServer = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
  });
  const io = new Server(httpServer);

  io.on("connection", (socket) => {
    const userId = String(socket.handshake.auth?.userId ?? socket.id);
    socket.join(`user:${userId}`);
    socket.on("sendMessage", (payload: RelayPayload, ack?: Ack) => {
      const now = new Date().toISOString();
      const message = {
        _id: String(++nextId),
        senderId: userId,
        receiverId: payload.receiverId,
        text: payload.text ?? null,
        file: null,
        clientMessageId: payload.clientMessageId ?? null,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
        readAt: null,
      };
      io.to(`user:${payload.receiverId}`).emit("receiveMessage", message);
      ack?.({ ok: true, message });
    });
    // A round trip with no work: the transport's floor for request latency.
    socket.on(
      "getChatHistory",
      (_payload: unknown, ack?: Ack) => ack?.({ ok: true, messages: [] }),
    );
  });

  httpServer.listen(Number(Deno.env.get("PORT") ?? 0), "127.0.0.1", () => {
    const { port } = httpServer.address() as AddressInfo;
    console.log(JSON.stringify({ msg: "relay listening", url: `http://127.0.0.1:${port}` }));
  });
  Deno.addSignalListener("SIGTERM", () => {
    io.close();
    Deno.exit(0);
  });
}
