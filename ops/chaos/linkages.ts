/**
 * Reading a hub's linkages as its partner does (`GET /v1/linkages/{id}`), waiting for each to
 * reach a state, many at a time: what the chaos checks wait on.
 */
import type { Tokens } from "./client";

export interface LinkageView {
  /** The HTTP status of the last read (0 when none answered). */
  http: number;
  status?: string;
  currentStep?: string;
  stepsDone?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readLinkage(baseUrl: string, tokens: Tokens, id: string): Promise<LinkageView> {
  try {
    const res = await fetch(`${baseUrl}/v1/linkages/${id}`, {
      headers: { authorization: `Bearer ${await tokens.get()}`, "data-purpose": "civil-registration" },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 401) tokens.expire();
    if (res.status !== 200) return { http: res.status };
    return { http: 200, ...((await res.json()) as Omit<LinkageView, "http">) };
  } catch {
    return { http: 0 };
  }
}

/** Reads the linkage until `reached` holds or the deadline (epoch ms) passes; answers the last read. */
export async function awaitLinkage(baseUrl: string, tokens: Tokens, id: string, reached: (l: LinkageView) => boolean, deadline: number): Promise<LinkageView> {
  for (;;) {
    const view = await readLinkage(baseUrl, tokens, id);
    if (reached(view) || Date.now() > deadline) return view;
    await sleep(250);
  }
}

/** `f` of every item, at most `limit` at a time, in the items' order. */
export async function mapLimit<T, R>(items: T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A linkage's view in a few words, for a check's detail. */
export const described = (l: LinkageView) => (l.http === 200 ? `${l.status}${l.currentStep ? ` at ${l.currentStep}` : ""}` : `HTTP ${l.http}`);
