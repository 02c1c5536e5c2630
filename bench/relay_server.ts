/**
 * The bench's baseline: a bare Socket.IO relay on the same runtime and port
 * setup as Parley (one `node:http` server, Socket.IO 4.8 attached to it), with
 * a room per user and nothing else: no auth, no validation, no storage, no
 * delivery acknowledgements. It speaks the subset of Parley's events the load
 * generator uses, so one client drives both.
 *
 * Groups are rooms: `createGroup` remembers the members and puts their sockets
 * (those connected now and later) in the group's room, and a send with a
 * `groupId` is one emit to that room, less the sender's sockets.
 *
 *   deno run -A bench/relay_server.ts   (PORT from the environment, 0 picks one)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";

interface RelayPayload {
  receiverId?: string;
  groupId?: string;
  text?: string;
  clientMessageId?: string;
}

interface CreateGroupPayload {
  name: string;
  memberIds: string[];
}

type Ack = (answer: object) => void;

const userRoom = (userId: string) => `user:${userId}`;
const groupRoom = (groupId: string) => `group:${groupId}`;

if (import.meta.main) {
  let nextId = 0;
  /** userId → the groups they are in, so that a socket connecting later joins their rooms. */
  const groupsOf = new Map<string, string[]>();
  const httpServer = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
  });
  const io = new Server(httpServer);

  io.on("connection", (socket) => {
    const userId = String(socket.handshake.auth?.userId ?? socket.id);
    socket.join([userRoom(userId), ...(groupsOf.get(userId) ?? []).map(groupRoom)]);
    socket.on("sendMessage", (payload: RelayPayload, ack?: Ack) => {
      const now = new Date().toISOString();
      const message = {
        _id: String(++nextId),
        senderId: userId,
        receiverId: payload.receiverId ?? null,
        groupId: payload.groupId ?? null,
        text: payload.text ?? null,
        file: null,
        clientMessageId: payload.clientMessageId ?? null,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
        readAt: null,
      };
      const to = payload.groupId === undefined
        ? io.to(userRoom(payload.receiverId ?? ""))
        : io.to(groupRoom(payload.groupId)).except(userRoom(userId));
      to.emit("receiveMessage", message);
      ack?.({ ok: true, message });
    });
    socket.on("createGroup", (payload: CreateGroupPayload, ack?: Ack) => {
      const groupId = `g${++nextId}`;
      const memberIds = [...new Set([userId, ...payload.memberIds])];
      for (const memberId of memberIds) {
        groupsOf.set(memberId, [...(groupsOf.get(memberId) ?? []), groupId]);
        io.in(userRoom(memberId)).socketsJoin(groupRoom(groupId));
      }
      const now = new Date().toISOString();
      const group = {
        _id: groupId,
        name: payload.name,
        ownerId: userId,
        memberIds,
        createdAt: now,
        updatedAt: now,
      };
      ack?.({ ok: true, group });
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
