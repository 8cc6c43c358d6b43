/**
 * A partner's view of a hub for chaos runs: one access token (client credentials), fetched
 * once and again when it nears expiry or a 401 comes back, and requests sent once each (no
 * retry), each answered by an Outcome: what the client saw, with its timing.
 */

export type Kind = "verification" | "eid-issuance" | "incident";

export interface Outcome {
  kind: Kind;
  /** The business key: the application number, the alert's `sender,identifier`, or a number of the run's for a verification. */
  key: string;
  /** The citizen an e-ID application is for (its e-IDs are counted in the civil registry). */
  subject?: string;
  /** The id the hub answered with (a linkage's, an incident's). */
  ref?: string;
  /** The hub's `X-Request-Id`, when an answer came. */
  requestId?: string;
  /** When it was sent and when its answer (or failure) came, epoch ms. */
  start: number;
  end: number;
  /** The HTTP status, or 0 for a network failure or timeout (`error` says which). */
  status: number;
  error?: string;
  /** The problem type of a non-2xx answer. */
  problemType?: string;
}

export interface Credentials {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

const REFRESH_BEFORE_MS = 30_000;

/** The partner's token, fetched when first needed or when `expire()` was called. */
export function tokenSource({ baseUrl, clientId, clientSecret }: Credentials, timeoutMs = 10_000) {
  let current: { value: string; until: number } | undefined;
  let fetching: Promise<string> | undefined;
  async function fetchToken(): Promise<string> {
    const res = await fetch(`${baseUrl}/v1/oauth/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
    const issued = (await res.json()) as { access_token: string; expires_in: number };
    current = { value: issued.access_token, until: Date.now() + issued.expires_in * 1000 };
    return current.value;
  }
  return {
    get(): Promise<string> {
      if (current && current.until - REFRESH_BEFORE_MS > Date.now()) return Promise.resolve(current.value);
      fetching ??= fetchToken().finally(() => (fetching = undefined));
      return fetching;
    },
    expire(): void {
      current = undefined;
    },
  };
}

export type Tokens = ReturnType<typeof tokenSource>;

export interface Request {
  kind: Kind;
  key: string;
  subject?: string;
  path: string;
  method?: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends `r` once to the hub and tells what came back. */
export async function send(baseUrl: string, tokens: Tokens, r: Request, timeoutMs = 10_000): Promise<Outcome> {
  const base = { kind: r.kind, key: r.key, ...(r.subject ? { subject: r.subject } : {}), start: Date.now() };
  try {
    const authorization = `Bearer ${await tokens.get()}`;
    const res = await fetch(`${baseUrl}${r.path}`, {
      method: r.method ?? "POST",
      headers: { ...r.headers, authorization },
      body: r.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.json().catch(() => undefined);
    if (res.status === 401) tokens.expire();
    const answer = (body ?? {}) as { id?: unknown; type?: unknown };
    return {
      ...base,
      ...(typeof answer.id === "string" ? { ref: answer.id } : {}),
      ...(res.headers.get("x-request-id") ? { requestId: res.headers.get("x-request-id")! } : {}),
      end: Date.now(),
      status: res.status,
      ...(!res.ok ? { problemType: typeof answer.type === "string" ? answer.type : "(no problem type)" } : {}),
    };
  } catch (err) {
    return { ...base, end: Date.now(), status: 0, error: String((err as Error).message ?? err) };
  }
}
