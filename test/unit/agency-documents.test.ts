/**
 * The OpenAPI documents the project writes for the catalogue agencies pass the catalogue's own
 * checks (what `services add` runs), and keep the promises the agreement makes: event-safety
 * declared, an Idempotency-Key required on every POST, errors as problem+json, and each
 * example valid against its schema.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { readServiceDocument } from "../../catalogue/document";
import { documentSchemas } from "../../sandbox-kit/problem";
import { agencyDocument, CATALOGUE_AGENCIES } from "../../ops/stack/agencies";

type Json = Record<string, unknown>;

const OPERATIONS: Record<string, string[]> = {
  "public-security": [
    "POST /security-reviews",
    "GET /security-reviews/{reviewId}",
    "POST /security-reviews/{reviewId}/documents",
    "GET /key-places",
    "POST /key-places",
    "GET /key-places/{placeId}",
    "POST /key-places/{placeId}/closure",
    "GET /units",
    "POST /dispatches",
    "GET /dispatches/{dispatchId}",
    "POST /dispatches/{dispatchId}/release",
  ],
  aviation: ["GET /operators/{idNumber}", "GET /drones", "GET /drones/{registrationNo}", "GET /no-fly-zones", "GET /no-fly-zones/{zoneId}"],
  "fire-safety": ["GET /venues", "GET /venues/{venueId}", "POST /inspections", "GET /inspections/{inspectionId}", "POST /inspections/{inspectionId}/documents"],
};

const PERSONAL: Record<string, string[]> = { aviation: ["GET /operators/{idNumber}", "GET /drones"] };

/** Follows a local $ref. */
const at = (doc: Json, node: Json): Json =>
  typeof node.$ref === "string"
    ? (node.$ref
        .slice(2)
        .split("/")
        .reduce<unknown>((n, k) => (n as Json)[k], doc) as Json)
    : node;

for (const { agency } of CATALOGUE_AGENCIES) {
  const file = agencyDocument(agency);
  const text = fs.readFileSync(file, "utf8");

  test(`${agency}: the catalogue's document checks pass; its operations are the agreed ones`, () => {
    const doc = readServiceDocument(text);
    assert.equal(doc.openapi, "3.1");
    assert.deepEqual(
      doc.operations.map((o) => `${o.method} ${o.path}`),
      OPERATIONS[agency],
    );
    // The aviation authority's operators and an owner's drones are personal data, each asked for by its subject's identity number.
    assert.deepEqual(
      doc.operations.filter((o) => o.personalData).map((o) => `${o.method} ${o.path}`),
      PERSONAL[agency] ?? [],
    );
    assert.deepEqual(doc.raw["x-purposes"], [agency === "aviation" ? "aviation-safety" : "event-safety"]);
  });

  test(`${agency}: every POST requires an Idempotency-Key; every operation answers errors as problem+json`, () => {
    const { doc } = documentSchemas(agency, file);
    for (const [route, item] of Object.entries(doc.paths as Json))
      for (const [method, op] of Object.entries(item as Json) as [string, Json][]) {
        const params = ((op.parameters ?? []) as Json[]).map((p) => at(doc, p));
        if (method === "post")
          assert.ok(
            params.some((p) => p.name === "Idempotency-Key" && p.in === "header" && p.required === true),
            `POST ${route} requires Idempotency-Key`,
          );
        const fallback = at(doc, (op.responses as Json).default as Json);
        assert.ok((fallback.content as Json)["application/problem+json"], `${method} ${route} answers problem+json by default`);
      }
  });

  test(`${agency}: each example is valid against its schema`, () => {
    const schemas = documentSchemas(agency, file);
    const { doc } = schemas;
    let checked = 0;
    for (const item of Object.values(doc.paths as Json))
      for (const op of Object.values(item as Json) as Json[]) {
        const body = op.requestBody ? ((op.requestBody as Json).content as Json)["application/json"] : undefined;
        const sections: [Json | undefined, Json][] = [
          [body as Json | undefined, body ? ((body as Json).schema as Json) : {}],
          ...Object.values(op.responses as Json).map((r): [Json | undefined, Json] => {
            const media = ((at(doc, r as Json).content ?? {}) as Json)["application/json"] as Json | undefined;
            return [media, (media?.schema ?? {}) as Json];
          }),
        ];
        for (const [media, schema] of sections)
          for (const example of Object.values((media?.examples ?? {}) as Json)) {
            const name = String(schema.$ref).split("/").at(-1)!;
            assert.doesNotThrow(() => schemas.read(name, at(doc, example as Json).value), `an example of ${name}`);
            checked++;
          }
      }
    assert.ok(checked >= 5, `${checked} examples checked`);
  });
}
