/**
 * Finding the civil registry's id numbers and names in bytes of any store: pure functions,
 * no I/O (test/support/personal-data-stores.ts reads the stores). Besides plain text, what
 * is encoded is decoded and searched too: e-ID credentials (compact JWS, the holder in the
 * base64url payload) and base64 blobs (an idempotent answer's body, a payload shown as JSON),
 * at any alignment, since a protobuf length byte may stand glued before them.
 */

/** What to look for: every citizen the civil registry sandbox holds. */
export interface Needles {
  ids: ReadonlySet<string>;
  names: ReadonlySet<string>;
}

export interface Hit {
  what: "id number" | "name";
  value: string;
  /** How it was stored: in clear, or inside an e-ID credential's payload or a base64 blob (still clear to whoever decodes it). */
  via: "plain" | "JWS payload" | "base64";
}

const ID_RUN = /[0-9X]{18,}/g;
// A name stands alone (a JSON string, a field, words of a log line): whole runs of CJK are compared.
const NAME_RUN = /[\u4e00-\u9fff\u3400-\u4dbf·]{2,}/g;
const JWS = /eyJ[A-Za-z0-9_-]{2,}\.([A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]+/g;
// Base64 (either alphabet) long enough to hold a name or an id number.
const BASE64_RUN = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const UNICODE_ESCAPE = /\\+u([0-9a-fA-F]{4})/g;
const HAS_UNICODE_ESCAPE = /\\u[0-9a-fA-F]{4}/;
const MAX_DEPTH = 2;

/** Every id number and name of `needles` in `bytes`, each value once per way it was stored. */
export function scanBytes(bytes: Buffer, needles: Needles): Hit[] {
  const hits = new Map<string, Hit>();
  for (const hit of search(bytes, needles, "plain", 0)) hits.set(`${hit.what}\0${hit.value}\0${hit.via}`, hit);
  return [...hits.values()];
}

export const scanText = (text: string, needles: Needles): Hit[] => scanBytes(Buffer.from(text, "utf8"), needles);

function* search(bytes: Buffer, needles: Needles, via: Hit["via"], depth: number): Generator<Hit> {
  // latin1 maps byte to character one to one: id numbers and base64 are ASCII, found even between binary bytes.
  const ascii = bytes.toString("latin1");
  for (const m of ascii.matchAll(ID_RUN))
    // Every window of a longer run of digits: a digit byte may stand glued before the id number.
    for (let i = 0; i + 18 <= m[0].length; i++) {
      const id = m[0].slice(i, i + 18);
      if (needles.ids.has(id)) yield { what: "id number", value: id, via };
    }
  const text = bytes.toString("utf8");
  for (const t of HAS_UNICODE_ESCAPE.test(text) ? [text, unescapeUnicode(text)] : [text])
    for (const m of t.matchAll(NAME_RUN)) if (needles.names.has(m[0])) yield { what: "name", value: m[0], via };
  if (depth >= MAX_DEPTH) return;
  const jwsPayloads = new Set([...ascii.matchAll(JWS)].map((m) => m[1]!));
  for (const m of ascii.matchAll(BASE64_RUN)) {
    const inner: Hit["via"] = via !== "plain" ? via : jwsPayloads.has(m[0]) ? "JWS payload" : "base64";
    for (const decoded of base64Decodings(m[0])) yield* search(decoded, needles, inner, depth + 1);
  }
}

/** A JSON or log text's `\uXXXX` escapes (any number of backslashes: a dump doubles them) made characters. */
function unescapeUnicode(text: string): string {
  return text.replace(UNICODE_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The run decoded from each of its first four characters: one of them is where the base64 starts. */
function base64Decodings(run: string): Buffer[] {
  const body = run.replace(/=+$/, "");
  const out: Buffer[] = [];
  for (let start = 0; start < 4 && body.length - start >= 16; start++) {
    const part = body.slice(start);
    out.push(Buffer.from(part.slice(0, part.length - (part.length % 4 === 1 ? 1 : 0)), "base64"));
  }
  return out;
}

/** One finding: what was found in which store, and where in it. */
export interface Finding extends Hit {
  store: string;
  where: string;
}

/** Where a finding is, without the row's number: the place a report names once. */
const placeOf = (f: Finding) => f.where.replace(/ row \d+$/, "");

const itemOf = (f: Finding) => `${f.what} ${f.value}${f.via === "plain" ? "" : ` (${f.via})`}`;

/**
 * The findings grouped by store, then by place (a file, a table): each place with its count and
 * its first items; at most `cap` places a store, for a failure message and a report.
 */
export function describeFindings(findings: Finding[], cap = 12, itemsPerPlace = 4): string {
  const byStore = new Map<string, Map<string, Finding[]>>();
  for (const f of findings) {
    const places = byStore.get(f.store) ?? byStore.set(f.store, new Map()).get(f.store)!;
    places.set(placeOf(f), [...(places.get(placeOf(f)) ?? []), f]);
  }
  const lines: string[] = [];
  for (const [store, places] of byStore) {
    const total = [...places.values()].reduce((n, list) => n + list.length, 0);
    lines.push(`${store}: ${total} found in ${places.size} place${places.size === 1 ? "" : "s"}`);
    for (const [place, list] of [...places].slice(0, cap)) {
      const items = [...new Set(list.map(itemOf))];
      lines.push(`  ${place}: ${list.length}: ${items.slice(0, itemsPerPlace).join(", ")}${items.length > itemsPerPlace ? ", …" : ""}`);
    }
    if (places.size > cap) lines.push(`  … and ${places.size - cap} more places`);
  }
  return lines.join("\n");
}
