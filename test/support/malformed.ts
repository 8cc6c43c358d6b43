/**
 * Malformed requests generated from the contract: for an operation's valid example body,
 * every way of breaking it that the schemas forbid (missing, extra and wrongly typed
 * fields, broken identity numbers, bodies of the wrong shape), plus bad JSON, wrong media
 * types and oversized bodies. Each candidate body is checked against the contract's own
 * validator, so only really invalid ones are kept.
 */
import { compileOpenApiSchema, type Operation } from "../../contracts";
import { residentIdCheckChar } from "../../contracts/formats";
import { mulberry32, type Rng } from "../../sandbox-kit/synthetic-people";

export interface BadRequest {
  why: string;
  contentType?: string;
  body: string;
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;

const WRONG_VALUES: readonly unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e308,
  true,
  false,
  [],
  [1],
  {},
  { a: 1 },
  "",
  " ",
  "x".repeat(5000),
  "\u0000",
  "'; DROP TABLE citizen; --",
  "<script>",
  "\ud800",
];

/** Identity numbers that fail GB 11643-1999 one way or another. */
function badResidentIds(rng: Rng, valid: string): string[] {
  const first17 = valid.slice(0, 17);
  const wrongCheck = "0123456789X".split("").filter((c) => c !== residentIdCheckChar(first17));
  const digits = () => Array.from({ length: 17 }, () => Math.floor(rng() * 10)).join("");
  const randomBody = digits();
  return [
    first17 + pick(rng, wrongCheck),
    first17 + "x",
    first17,
    valid + "0",
    valid.slice(0, 6) + "20231301" + valid.slice(14, 17) + "0", // month 13
    valid.slice(0, 6) + "20230230" + valid.slice(14), // 30 February
    "0" + valid.slice(1),
    randomBody +
      pick(
        rng,
        "0123456789X".split("").filter((c) => c !== residentIdCheckChar(randomBody)),
      ),
    valid.replace(/\d/, "A"),
    ` ${valid.slice(1)}`,
  ];
}

export function malformedBodies(op: Operation, example: Record<string, unknown>, count: number, seed = 1): BadRequest[] {
  const rng = mulberry32(seed);
  const schema = op.requestBody!.content["application/json"]!.schema;
  const validate = compileOpenApiSchema(schema);
  if (!validate(example)) throw new Error(`${op.operationId}: the example body is itself invalid`);
  const fields = Object.keys(example);
  const out: BadRequest[] = [];
  const seen = new Set<string>();
  const keep = (why: string, body: unknown) => {
    const text = JSON.stringify(body);
    if (text === undefined || seen.has(text) || validate(body)) return;
    seen.add(text);
    out.push({ why, body: text });
  };

  // Systematic: each field missing, each field each wrong value, the whole body of the wrong shape.
  for (const f of fields) {
    const { [f]: _gone, ...rest } = example;
    keep(`missing ${f}`, rest);
    for (const v of WRONG_VALUES) keep(`${f} = ${JSON.stringify(v)?.slice(0, 20)}`, { ...example, [f]: v });
    if (/idNumber/.test(f)) for (const id of badResidentIds(rng, String(example[f]))) keep(`${f} broken: ${id}`, { ...example, [f]: id });
  }
  for (const v of WRONG_VALUES) keep(`body = ${JSON.stringify(v)?.slice(0, 20)}`, v);
  keep("empty object", {});

  // Random: several mutations at once, extra fields, until there are enough.
  for (let guard = 0; out.length < count && guard < count * 20; guard++) {
    const body: Record<string, unknown> = { ...example };
    const n = 1 + Math.floor(rng() * 3);
    for (let i = 0; i < n; i++) {
      const f = pick(rng, fields);
      const move = rng();
      if (move < 0.25) delete body[f];
      else if (move < 0.5) body[`extra${Math.floor(rng() * 1000)}`] = pick(rng, WRONG_VALUES);
      else if (move < 0.75) body[f] = pick(rng, WRONG_VALUES);
      else body[f] = /idNumber/.test(f) ? pick(rng, badResidentIds(rng, String(example[f]))) : String(example[f]) + "\n";
    }
    keep("random mutation", body);
  }
  return out;
}

/** Bodies that are not the JSON the operation takes at all. */
export function unparsableRequests(example: Record<string, unknown>): BadRequest[] {
  const json = JSON.stringify(example);
  return [
    { why: "truncated JSON", body: json.slice(0, -1) },
    { why: "trailing comma", body: json.replace(/}$/, ",}") },
    { why: "single quotes", body: json.replace(/"/g, "'") },
    { why: "two documents", body: json + json },
    { why: "bare word", body: "hello" },
    { why: "binary", body: "\u0000\u0001\u0002\u00ff" },
    { why: "text/plain", contentType: "text/plain", body: json },
    { why: "form encoded", contentType: "application/x-www-form-urlencoded", body: "idNumber=1&name=2" },
    { why: "xml", contentType: "application/xml", body: "<a/>" },
    { why: "no content type", contentType: "", body: json },
    { why: "oversized", body: JSON.stringify({ ...example, padding: "x".repeat(200_000) }) },
    { why: "deeply nested", body: "[".repeat(5000) + "]".repeat(5000) },
  ];
}
