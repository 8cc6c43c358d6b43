/** Checks an answer against what the contract documents for its operation. */
import assert from "node:assert/strict";
import { compileOpenApiSchema, documentedResponse, type Operation } from "../../contracts";

export async function assertDocumented(op: Operation, res: Response, what = op.operationId): Promise<unknown> {
  const doc = documentedResponse(op, res.status);
  const text = await res.text();
  assert.ok(doc, `${what}: ${res.status} is not documented (body ${text.slice(0, 300)})`);
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const media = doc.content?.[mediaType];
  assert.ok(media, `${what}: ${res.status} answered ${mediaType}, documented: ${Object.keys(doc.content ?? {}).join(", ")}`);
  if (!mediaType.endsWith("json")) return text;
  const body = JSON.parse(text);
  if (media.schema) {
    const validate = compileOpenApiSchema(media.schema);
    assert.ok(validate(body), `${what}: ${res.status} body breaks its schema: ${JSON.stringify(validate.errors)}\n${text.slice(0, 500)}`);
  }
  return body;
}

/** A problem+json answer with every RFC 9457 member the hub promises. */
export function assertProblem(body: unknown, status: number): asserts body is Record<string, unknown> {
  const p = body as Record<string, unknown>;
  assert.equal(p.status, status);
  for (const member of ["type", "title", "detail", "instance", "code", "requestId"]) assert.equal(typeof p[member], "string", `problem lacks ${member}`);
  assert.doesNotMatch(JSON.stringify(p), /\bat .+\.(ts|js):\d+/, "no stack trace leaks");
}
