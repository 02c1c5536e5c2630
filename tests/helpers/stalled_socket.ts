/**
 * A Socket.IO client that completes its connect and then never reads again,
 * as a hostile client or a stalled network would: written on a raw TCP
 * connection because socket.io-client always reads what arrives.
 */

/** `using` closes it when the scope ends. */
export interface StalledSocket extends Disposable {
  /** Whether the server has closed the TCP connection (checked by reading once). */
  closedByServer(timeoutMs: number): Promise<boolean>;
  close(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One masked text frame, as a client must send it (payloads under 64 KiB). */
function textFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const header = payload.length < 126 ? [0x81, 0x80 | payload.length] : [
    0x81,
    0x80 | 126,
    payload.length >> 8,
    payload.length & 0xff,
  ];
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const frame = new Uint8Array(header.length + 4 + payload.length);
  frame.set(header);
  frame.set(mask, header.length);
  const start = header.length + 4;
  for (let i = 0; i < payload.length; i++) frame[start + i] = payload[i]! ^ mask[i % 4]!;
  return frame;
}

/** Reads until the bytes read so far contain `marker`, and returns them as text. */
async function readUntil(conn: Deno.Conn, marker: string, timeoutMs = 5000): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(4096);
  const deadline = Date.now() + timeoutMs;
  while (!text.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(marker)} in ${text}`);
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed before ${JSON.stringify(marker)}: ${text}`);
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text;
}

export async function openStalledSocket(url: string, token: string): Promise<StalledSocket> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(encoder.encode(
    `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      `Sec-WebSocket-Version: 13\r\n\r\n`,
  ));
  await readUntil(conn, '"sid"'); // the upgrade's answer and Engine.IO's open packet
  await conn.write(textFrame(`40${JSON.stringify({ token })}`));
  await readUntil(conn, "40{"); // Socket.IO's connect answer: from here on, nothing is read
  const close = () => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  return {
    async closedByServer(timeoutMs) {
      const buffer = new Uint8Array(1 << 20);
      const deadline = Date.now() + timeoutMs;
      const timer = setTimeout(() => conn.close(), timeoutMs);
      try {
        while (Date.now() < deadline) {
          if (await conn.read(buffer) === null) return true;
        }
        return false;
      } catch {
        return Date.now() < deadline; // reset by the server, not closed by our timer
      } finally {
        clearTimeout(timer);
      }
    },
    close,
    [Symbol.dispose]: close,
  };
}
