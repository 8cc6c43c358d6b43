/**
 * Reads a request body within a size limit: JSON, or, for an operation that documents XML
 * media types for its body (`application/xml`, `application/*+xml`), the XML as text.
 * Refuses other media types and bad JSON.
 */
import type { IncomingMessage } from "node:http";
import { HubError } from "../platform/errors";
import { stateOf } from "./request-state";

export const MAX_BODY_BYTES = 64 * 1024;

/** Media types whose bodies are read as text and passed on as `{ xml: "<the text>" }`. */
export const XML_MEDIA_TYPE = /^application\/([\w.-]+\+)?xml$/;

/** A body sent in one of the operation's XML media types: its text, unparsed. */
export class XmlBody {
  constructor(
    readonly mediaType: string,
    readonly text: string,
  ) {}
}

/** The body, read once within the size limit and kept in the request's state for the later steps. */
export async function readRawBody(req: IncomingMessage, limit = stateOf(req).operation?.maxBodyBytes ?? MAX_BODY_BYTES): Promise<Buffer> {
  const state = stateOf(req);
  if (state.body) return state.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The body may be at most ${limit} bytes`);
    chunks.push(chunk);
  }
  state.body = Buffer.concat(chunks);
  return state.body;
}

export async function readJsonBody(req: IncomingMessage, xmlMediaTypes: readonly string[] = []): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  const hasBody = declared > 0 || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) return undefined;
  const mediaType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const xml = xmlMediaTypes.includes(mediaType);
  if (!xml && mediaType !== "application/json" && !/^application\/[\w.-]+\+json$/.test(mediaType))
    throw new HubError(
      "HUB_ERR_REQUEST_MEDIA_TYPE",
      `Send the body as ${["application/json", ...xmlMediaTypes].join(" or ")}, not ${mediaType || "an unnamed media type"}`,
    );
  const limit = stateOf(req).operation?.maxBodyBytes ?? MAX_BODY_BYTES;
  if (declared > limit) throw new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The body may be at most ${limit} bytes`);

  const text = (await readRawBody(req)).toString("utf8");
  if (text.trim() === "") return undefined;
  if (xml) return new XmlBody(mediaType, text);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HubError("HUB_ERR_REQUEST_MALFORMED", `The body is not valid JSON: ${(err as Error).message}`);
  }
}
