/**
 * `npm run -s seed:citizens -- --count N [--json]`: fresh synthetic citizens for testing, in
 * the sandboxes of a running hub (`npm start`, or the test stack): each is created in the
 * civil-registry sandbox (valid identity number, adult, unmarried, no e-ID, with an address)
 * and then given utility accounts at that address in the utilities sandbox.
 */
import { SETTINGS } from "../platform/config";

const MAX_COUNT = 100_000;
const CHUNK = 1000;
/** Holders per call to the utilities sandbox, well inside its request size limit. */
const UTILITIES_CHUNK = 500;
const REQUEST_TIMEOUT_MS = 60_000;

const HELP = `Usage: npm run -s seed:citizens -- [--count N] [--json] [--min-age A] [--max-age B]

Creates N fresh synthetic citizens (default 1, at most ${MAX_COUNT}) in the sandboxes of the
running hub: in the civil registry (valid identity numbers, adults, unmarried, without an
e-ID, each with an address), then utility accounts for each at that address. Prints them as
a table, or with --json as a JSON array of
  { idNumber, name, birthDate, sex, maritalStatus, address, utilityAccounts }.

  --count N      how many citizens (1 to ${MAX_COUNT}; created ${CHUNK} at a time)
  --json         JSON on stdout (progress, if any, goes to stderr)
  --min-age A    youngest age in whole years (default 18, at least 18)
  --max-age B    oldest age in whole years (default 80, at most 120)

Sandboxes (the hub's own settings, defaults as for npm start):
  ${SETTINGS.civilRegistryUrl.env.padEnd(19)}${SETTINGS.civilRegistryUrl.default}
  ${SETTINGS.utilitiesUrl.env.padEnd(19)}${SETTINGS.utilitiesUrl.default}
Exit codes: 0 done, 1 a sandbox failed or is unreachable, 2 bad arguments.`;

class UsageError extends Error {}

export interface Options {
  count: number;
  json: boolean;
  minAge: number;
  maxAge: number;
}

export function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { count: 1, json: false, minAge: 18, maxAge: 80 };
  const whole = (flag: string, raw: string | undefined, min: number, max: number): number => {
    const n = Number(raw);
    if (raw === undefined || raw.trim() === "" || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`${flag} takes a whole number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--json":
        opts.json = true;
        break;
      case "--count":
      case "-n":
        opts.count = whole("--count", value(), 1, MAX_COUNT);
        break;
      case "--min-age":
        opts.minAge = whole("--min-age", value(), 18, 120);
        break;
      case "--max-age":
        opts.maxAge = whole("--max-age", value(), 18, 120);
        break;
      default:
        throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }
  if (opts.minAge > opts.maxAge) throw new UsageError("--min-age must not be above --max-age");
  return opts;
}

interface Sandbox {
  name: string;
  env: string;
  url: string;
}

function sandboxes(env: NodeJS.ProcessEnv): { registry: Sandbox; utilities: Sandbox } {
  const read = (name: string, s: typeof SETTINGS.civilRegistryUrl | typeof SETTINGS.utilitiesUrl): Sandbox => {
    const raw = env[s.env] || s.default;
    try {
      return { name, env: s.env, url: s.parse(raw) };
    } catch (err) {
      throw new Error(`${s.env}=${JSON.stringify(raw)} ${(err as Error).message}`);
    }
  };
  return { registry: read("civil-registry sandbox", SETTINGS.civilRegistryUrl), utilities: read("utilities sandbox", SETTINGS.utilitiesUrl) };
}

async function call(s: Sandbox, method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
  let res: Response;
  try {
    res = await fetch(s.url + route, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const why = (err as Error).name === "TimeoutError" ? `did not answer within ${REQUEST_TIMEOUT_MS / 1000} s` : "is unreachable";
    throw new Error(`the ${s.name} at ${s.url} ${why} (set ${s.env}; is the hub running? npm start)`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

function refused(s: Sandbox, route: string, reply: { status: number; text: string }): Error {
  if (reply.status === 404 || reply.status === 405)
    return new Error(`the ${s.name} at ${s.url} has no ${route} (${reply.status}): is ${s.env} the right address, and is that sandbox up to date?`);
  return new Error(`the ${s.name} at ${s.url} answered ${route} with ${reply.status}: ${reply.text.slice(0, 300)}`);
}

interface RegistryCitizen {
  citizenNo: string;
  fullName: string;
  birthDate: string;
  sex: "MALE" | "FEMALE";
  maritalStatus: string;
  address: { province: string; city: string; district: string; street: string; postcode: string };
}

export interface SeededCitizen {
  idNumber: string;
  name: string;
  birthDate: string;
  sex: "MALE" | "FEMALE";
  maritalStatus: string;
  address: RegistryCitizen["address"];
  utilityAccounts: unknown[];
}

/** The utilities sandbox's accounts for each holder: a list of accounts (or of holders with theirs), bare or wrapped. */
function accountsByHolder(body: unknown): Map<string, unknown[]> {
  const wrapped = body as Record<string, unknown> | undefined;
  const list = Array.isArray(body) ? body : (wrapped?.acct_list ?? wrapped?.accounts ?? wrapped?.holders);
  if (!Array.isArray(list)) throw new Error("the utilities sandbox's answer lists no accounts");
  const byHolder = new Map<string, unknown[]>();
  for (const item of list as Record<string, unknown>[]) {
    const holder = item?.holder_id ?? item?.idNumber ?? item?.id_no ?? item?.holderId;
    if (typeof holder !== "string") throw new Error("an account in the utilities sandbox's answer names no holder");
    const accounts = Array.isArray(item.accounts) ? (item.accounts as unknown[]) : Array.isArray(item.acct_list) ? (item.acct_list as unknown[]) : [item];
    byHolder.set(holder, [...(byHolder.get(holder) ?? []), ...accounts]);
  }
  return byHolder;
}

/** Creates `count` citizens with utility accounts, `CHUNK` at a time; `progress` after each chunk. */
export async function seedCitizens(opts: Options, env: NodeJS.ProcessEnv = process.env, progress: (done: number) => void = () => {}): Promise<SeededCitizen[]> {
  const { registry, utilities } = sandboxes(env);
  // Both must answer before anything is created, so a missing utilities sandbox leaves no half-made citizens.
  for (const s of [registry, utilities]) {
    const health = await call(s, "GET", "/healthz");
    if (health.status !== 200) throw new Error(`the ${s.name} at ${s.url} is not healthy (/healthz answered ${health.status}; set ${s.env})`);
  }
  const out: SeededCitizen[] = [];
  while (out.length < opts.count) {
    const n = Math.min(CHUNK, opts.count - out.length);
    const made = await call(registry, "POST", "/_sandbox/citizens", { count: n, minAge: opts.minAge, maxAge: opts.maxAge });
    if (made.status !== 201 || !Array.isArray(made.body) || made.body.length !== n) throw refused(registry, "POST /_sandbox/citizens", made);
    const citizens = made.body as RegistryCitizen[];
    const accounts = new Map<string, unknown[]>();
    for (let i = 0; i < citizens.length; i += UTILITIES_CHUNK) {
      const holders = citizens.slice(i, i + UTILITIES_CHUNK).map((c) => ({ idNumber: c.citizenNo, name: c.fullName, address: c.address }));
      const opened = await call(utilities, "POST", "/_sandbox/accounts", { holders });
      if (opened.status !== 200 && opened.status !== 201) {
        const err = refused(utilities, "POST /_sandbox/accounts", opened);
        throw new Error(`${err.message}\n(${out.length + n} citizens were created in the civil registry, ${n - i} of them without utility accounts)`);
      }
      for (const [holder, list] of accountsByHolder(opened.body)) accounts.set(holder, [...(accounts.get(holder) ?? []), ...list]);
    }
    for (const c of citizens)
      out.push({
        idNumber: c.citizenNo,
        name: c.fullName,
        birthDate: c.birthDate,
        sex: c.sex,
        maritalStatus: c.maritalStatus,
        address: c.address,
        utilityAccounts: accounts.get(c.citizenNo) ?? [],
      });
    progress(out.length);
  }
  return out;
}

const ageOf = (birthDate: string) => {
  const now = new Date();
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  return now.getUTCFullYear() - y - (now.getUTCMonth() + 1 < m || (now.getUTCMonth() + 1 === m && now.getUTCDate() < d) ? 1 : 0);
};

function table(citizens: SeededCitizen[]): string {
  const rows = citizens.map((c) => [
    c.idNumber,
    c.name,
    c.sex === "MALE" ? "M" : "F",
    `${c.birthDate} (${ageOf(c.birthDate)})`,
    `${c.address.province}${c.address.city === c.address.province ? "" : c.address.city}${c.address.district}${c.address.street} ${c.address.postcode}`,
    String(c.utilityAccounts.length),
  ]);
  const head = ["ID NUMBER", "NAME", "SEX", "BORN (AGE)", "ADDRESS", "ACCOUNTS"];
  // Chinese characters take two columns in a terminal.
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u2e80-\uffef]/.test(ch) ? 2 : 1), 0);
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]!))));
  const line = (r: string[]) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(widths[i]! - width(cell)))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once("drain", resolve));
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`seed:citizens: ${err.message}\n\n${HELP}`);
    return 2;
  }
  if (opts === "help") {
    console.log(HELP);
    return 0;
  }
  const chatty = opts.count > CHUNK;
  try {
    const citizens = await seedCitizens(opts, process.env, (done) => chatty && process.stderr.write(`seed:citizens: ${done}/${(opts as Options).count}\n`));
    await write((opts.json ? JSON.stringify(citizens, null, opts.count <= 100 ? 2 : undefined) : table(citizens)) + "\n");
    return 0;
  } catch (err) {
    console.error(`seed:citizens: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
