/**
 * The file part of a `multipart/form-data` upload, as a stream: parsed with
 * npm `busboy` as it arrives, never buffered whole.
 */
// @ts-types="npm:@types/busboy@1.5.5"
import busboy from "busboy";
import { Readable } from "node:stream";
import { AppError } from "../errors.ts";

export interface FilePart {
  /** The part's file name, if any. */
  name?: string;
  /** The part's Content-Type: a hint only. */
  declaredType?: string;
  body: ReadableStream<Uint8Array>;
}

/** Form fields besides the file are read and dropped; these bound them. */
const LIMITS = { files: 1, fields: 20, fieldSize: 4096, parts: 25 };

/**
 * Resolves with the first file part once its headers arrived; rejects with
 * VALIDATION_ERROR for a malformed body or one without a file part. Reading
 * the part's stream reads the request; cancelling it stops reading the request.
 * The part is cut after `maxBytes + 1` bytes, so that a consumer that counts
 * sees it is too large without the rest being read.
 */
export function firstFilePart(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  maxBytes: number,
): Promise<FilePart> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      limits: { ...LIMITS, fileSize: maxBytes + 1 },
      defParamCharset: "utf8",
    });
  } catch {
    return Promise.reject(invalid("Malformed multipart Content-Type (boundary missing?)"));
  }
  const source = Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>);
  const stop = () => {
    source.unpipe(parser);
    source.destroy();
  };
  return new Promise<FilePart>((resolve, reject) => {
    let found = false;
    // Errors after the file part started go to its stream (see below).
    let failPart: (err: unknown) => void = () => {};
    const fail = (err: unknown) => {
      stop();
      if (found) failPart(err);
      else reject(err instanceof AppError ? err : invalid("Malformed multipart body"));
    };
    source.on("error", fail);
    parser.on("error", fail);
    parser.on("close", () => {
      if (!found) reject(invalid("The multipart body has no file part"));
    });
    parser.on("file", (_field, file, info) => {
      found = true;
      let done = false;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          failPart = (err) => {
            if (done) return;
            done = true;
            controller.error(err instanceof AppError ? err : invalid("Malformed multipart body"));
          };
          file.on("data", (chunk: Uint8Array) => {
            if (done) return;
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if ((controller.desiredSize ?? 1) <= 0) file.pause();
          });
          file.on("end", () => {
            if (done) return;
            done = true;
            controller.close();
          });
          file.on("error", (err: unknown) => failPart(err));
        },
        pull() {
          file.resume();
        },
        cancel() {
          done = true;
          stop();
          file.resume(); // let busboy drain what it already has
        },
      }, { highWaterMark: 4 });
      resolve({ name: info.filename || undefined, declaredType: info.mimeType, body: stream });
    });
    source.pipe(parser);
  });
}

function invalid(message: string): AppError {
  return new AppError("VALIDATION_ERROR", message);
}
