/**
 * The `--openapi` of `linkage-hub services add|update`: a file, or a document fetched from an
 * https:// URL (http:// only on this machine, for local tests), at most MAX_DOCUMENT_BYTES,
 * within a timeout; then checked here as the hub will check it, so the operator sees the
 * document's problems (with their JSON pointers) before anything is sent.
 */
import fs from "node:fs";
import { MAX_DOCUMENT_BYTES, readServiceDocument, type ServiceDocument } from "../../catalogue/document";
import { UsageError } from "./usage";

/** How long fetching a document may take, redirects and body included. */
export const FETCH_TIMEOUT_MS = 20_000;
const MAX_REDIRECTS = 5;
const LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

export interface OpenApiSource {
  /** The document as sent to the hub (YAML or JSON). */
  text: string;
  bytes: number;
  doc: ServiceDocument;
}

const tooLarge = (source: string, bytes: number | string) =>
  new Error(`${source} is ${bytes} bytes; a service's OpenAPI document may be at most ${MAX_DOCUMENT_BYTES} bytes (2 MiB)`);

/** Why the CLI will not fetch a document from `url`, or undefined. */
function refusedUrl(url: URL): string | undefined {
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") return LOCAL_HOSTS.includes(url.hostname) ? undefined : "http:// is taken only from 127.0.0.1 or localhost; use https://";
  return `${url.protocol} URLs are not fetched: give a file or an https:// URL`;
}

function checkedUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--openapi ${raw} is not a URL`);
  }
  const reason = refusedUrl(url);
  if (reason) throw new UsageError(`--openapi ${raw}: ${reason}`);
  return url;
}

/** Reads at most MAX_DOCUMENT_BYTES of the body, refusing the document past that. */
async function cappedBody(res: Response, source: string): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > MAX_DOCUMENT_BYTES) throw tooLarge(source, declared);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const read = await reader?.read();
    if (!read || read.done) break;
    size += read.value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader!.cancel();
      throw tooLarge(source, `more than ${MAX_DOCUMENT_BYTES}`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** GETs the document, following redirects only to URLs the same rule allows. */
async function fetchDocument(raw: string): Promise<string> {
  let url = checkedUrl(raw);
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  try {
    for (let hops = 0; ; hops++) {
      const res = await fetch(url, { redirect: "manual", signal, headers: { accept: "application/yaml, application/json, text/yaml, */*" } });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hops >= MAX_REDIRECTS) throw new Error(`${raw} redirects more than ${MAX_REDIRECTS} times`);
        const next = new URL(location, url);
        const reason = refusedUrl(next);
        if (reason) throw new Error(`${raw} redirects to ${next.href}: ${reason}`);
        url = next;
        continue;
      }
      if (!res.ok) throw new Error(`${url.href} answered ${res.status} ${res.statusText}`);
      return await cappedBody(res, url.href);
    }
  } catch (err) {
    if (signal.aborted) throw new Error(`${raw} did not answer with the whole document within ${FETCH_TIMEOUT_MS / 1000} s`);
    if (err instanceof TypeError) throw new Error(`cannot fetch ${raw}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
}

function readFile(file: string): string {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new Error(`--openapi ${file}: no such file (or give an https:// URL)`);
  if (!stat.isFile()) throw new Error(`--openapi ${file} is not a file`);
  if (stat.size > MAX_DOCUMENT_BYTES) throw tooLarge(file, stat.size);
  return fs.readFileSync(file, "utf8");
}

/**
 * The document named by `--openapi`, read and checked. Throws a UsageError for a source not
 * taken, an Error when it cannot be read, and the HubError of `readServiceDocument` (with its
 * problems' pointers) when the hub would refuse it.
 */
export async function readOpenApi(source: string): Promise<OpenApiSource> {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? await fetchDocument(source) : readFile(source);
  const doc = readServiceDocument(text);
  return { text, bytes: Buffer.byteLength(text), doc };
}
