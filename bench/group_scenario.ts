/**
 * The group scenario (issue 19): one group, its members each on a socket,
 * spread over the load workers; some of them send to the group, every member
 * receives and acknowledges. Parley stores each message once and hands it to
 * every other member's sockets, one `receiveMessage` with an ack each; the
 * relay's baseline is the same group as a room, one emit per message.
 * Throughput counts receipts (deliveries) per second; latency is send → receipt
 * over every member.
 */
import type { Job } from "./jobs.ts";
import { Worker } from "./processes.ts";
import {
  type BenchContext,
  roundsOf,
  runMeasured,
  type ScenarioResult,
  withServer,
} from "./scenarios.ts";

export interface GroupOptions {
  /** Members of the group, its creator included. */
  members: number;
  /** How many of them send (the first ones: spread over the workers like the rest). */
  senders: number;
  messagesPerSender: number;
  /** Sends in flight per sender. */
  window: number;
}

/** Creates the group in a worker of its own, before the members connect; answers its id. */
async function createGroup(job: Job & { kind: "createGroup" }): Promise<string> {
  const creator = new Worker(job);
  try {
    return (await creator.next("group")).groupId;
  } finally {
    await creator.close();
  }
}

export function group(ctx: BenchContext, o: GroupOptions): Promise<ScenarioResult[]> {
  if (o.senders > o.members) throw new Error(`${o.senders} senders but ${o.members} members`);
  const sends = o.senders * o.messagesPerSender;
  const variant = `${o.members} members, ${o.senders} senders, ${sends} msgs` +
    (o.window > 1 ? `, ${o.window} in flight each` : "");
  return roundsOf(
    ctx,
    "group",
    variant,
    (target, round) =>
      withServer(ctx, target, async (server) => {
        const base = {
          url: server.url,
          target,
          secret: ctx.secret,
          prefix: `g${round}_`,
          timeoutMs: 30_000,
        };
        const memberIds = Array.from({ length: o.members }, (_, i) => `${base.prefix}m${i}`);
        const groupId = await createGroup({
          kind: "createGroup",
          ...base,
          ownerId: memberIds[0]!,
          name: "bench group",
          memberIds,
        });
        // Member i on worker i mod workers: every worker has senders and receivers.
        const workers = Math.min(ctx.workers, o.members);
        const jobs: Job[] = Array.from({ length: workers }, (_, w) => {
          const mine = memberIds.filter((_, i) => i % workers === w);
          const senderIds = mine.filter((id) => memberIds.indexOf(id) < o.senders);
          return {
            kind: "group",
            ...base,
            groupId,
            memberIds: mine,
            senderIds,
            messagesPerSender: o.messagesPerSender,
            window: o.window,
            // Each message reaches every member but its sender.
            expectedDeliveries: mine.length * sends - senderIds.length * o.messagesPerSender,
          };
        });
        const m = await runMeasured(server, target, jobs);
        const acked = m.extra.acked ?? 0;
        m.lost = Math.max(0, acked * (o.members - 1) - (m.extra.received ?? 0));
        // Messages fanned out to the whole group per second.
        m.extra.messagesPerSecond = m.throughput / (o.members - 1);
        // The server's CPU (all threads) per receipt: comparable when the machine is busy.
        const { cpuMainPct = NaN, cpuWorkersPct = NaN, cpuOtherPct = NaN } = m.extra;
        m.extra.serverCpuUsPerDelivery = ((cpuMainPct + cpuWorkersPct + cpuOtherPct) * 1e4) /
          m.throughput;
        return m;
      }),
  );
}
