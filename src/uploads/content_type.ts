/**
 * What an upload is, decided from its bytes (npm `file-type`), never from the
 * name or the type the client declared; and the allowlist of what may be kept.
 */
import { fileTypeFromBuffer } from "file-type";
import type { FileAttachment } from "../schemas/inputs.ts";

export type FileKind = FileAttachment["type"];

/** Bytes read before deciding; enough for every allowed format, Office files included. */
export const SNIFF_BYTES = 64 * 1024;

/**
 * Every content type an upload may have, with the `file.type` it gets. Left
 * out on purpose: anything a browser would run or render as a page (HTML,
 * SVG, XML: see `startsWithMarkup`), archives and executables.
 */
export const ALLOWED_TYPES: Readonly<Record<string, FileKind>> = {
  "image/png": "image",
  "image/jpeg": "image",
  "image/gif": "image",
  "image/webp": "image",
  "image/avif": "image",
  "image/heic": "image",
  "image/heif": "image",
  "video/mp4": "video",
  "video/webm": "video",
  "video/quicktime": "video",
  "video/x-m4v": "video",
  "video/3gpp": "video",
  "video/ogg": "video",
  "audio/mpeg": "audio",
  "audio/mp4": "audio",
  "audio/x-m4a": "audio",
  "audio/aac": "audio",
  "audio/ogg": "audio",
  "audio/wav": "audio",
  "audio/flac": "audio",
  "audio/webm": "audio",
  "application/pdf": "document",
  "application/rtf": "document",
  "text/plain": "document",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
  "application/vnd.oasis.opendocument.text": "document",
  "application/vnd.oasis.opendocument.spreadsheet": "document",
  "application/vnd.oasis.opendocument.presentation": "document",
};

export interface DetectedType {
  /** The content type served on download, e.g. `image/png`. */
  mime: string;
  kind: FileKind;
  /** Usual extension, for a name when the client gave none. */
  ext: string;
}

/**
 * Decides the type from the first bytes of a file; null when it is not on the
 * allowlist. `declared` (the client's Content-Type) only picks between readings
 * the bytes allow: a WebM container is `audio/webm` when declared so (voice
 * notes from MediaRecorder), else `video/webm`.
 */
export async function detectType(
  head: Uint8Array,
  declared?: string,
): Promise<DetectedType | null> {
  const found = await fileTypeFromBuffer(head);
  if (!found) {
    return isPlainText(head) && !startsWithMarkup(head)
      ? { mime: "text/plain", kind: "document", ext: "txt" }
      : null;
  }
  let mime: string = found.mime;
  if (mime === "video/webm" && declared?.toLowerCase().startsWith("audio/webm")) {
    mime = "audio/webm";
  }
  const kind = ALLOWED_TYPES[mime];
  return kind ? { mime, kind, ext: found.ext } : null;
}

/**
 * UTF-8 without NUL or other control characters (tab, line breaks and form
 * feed aside). `file-type` names binary formats only, so this is how text is
 * told from unknown binary data. A file cut in the middle of a character at
 * the end of the sample still counts as text.
 */
function isPlainText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(trimPartialCharacter(head));
  } catch {
    return false;
  }
  // deno-lint-ignore no-control-regex
  return !/[\u0000-\u0008\u000B\u000E-\u001F\u007F]/.test(text);
}

/**
 * Text that opens with a tag, a comment, a doctype or an XML declaration: HTML, SVG and XML
 * (`file-type` names none of them: they are text). Served as `text/plain` with `nosniff`
 * no browser would run them; they are refused anyway, because a client that renders a text
 * attachment itself, or a person who saves and opens one, would. The test is the one
 * browsers sniff pages by: after blanks (and a byte order mark) the text starts with `<`
 * and a letter, `!`, `?` or `/`.
 */
function startsWithMarkup(head: Uint8Array): boolean {
  const start = new TextDecoder().decode(head.subarray(0, 1024)).replace(/^\uFEFF?\s*/, "");
  return /^<[A-Za-z!?/]/.test(start);
}

/** Drops an incomplete UTF-8 sequence at the end (the sample may cut one). */
function trimPartialCharacter(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}
