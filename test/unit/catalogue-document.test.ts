/**
 * The catalogue's service documents: reading a provider's OpenAPI document safely, what is
 * refused (each problem with its pointer into the document), and the checks of calls and
 * answers compiled from it. Third-party documents from test/fixtures/openapi/ (see its
 * README), and a population register of our own for the hub's rules.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Ajv2020 } from "ajv/dist/2020";
import { MAX_DOCUMENT_BYTES, readServiceDocument, subjectsIn, validatorsOf, type ServiceDocument } from "../../catalogue/document";
import { HubError } from "../../platform/errors";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../fixtures/openapi", name), "utf8");
type Errors = { in: string; pointer: string; detail: string }[];

/** The refusal of a document: its code and errors[]; fails the test when the document is taken. */
function refusal(text: string): { code: string; message: string; errors: Errors } {
  try {
    readServiceDocument(text);
  } catch (e) {
    assert.ok(e instanceof HubError, `not a HubError: ${String(e)}`);
    return { code: e.type, message: e.message, errors: (e.data as { errors: Errors }).errors };
  }
  assert.fail("the document was taken");
}

/** Asserts that the document is refused with a problem at `pointer` whose detail matches. */
function refusedAt(doc: unknown, pointer: string, detail: RegExp): Errors {
  const { code, errors } = refusal(typeof doc === "string" ? doc : JSON.stringify(doc));
  assert.equal(code, "HUB_ERR_REQUEST_UNPROCESSABLE");
  const found = errors.find((e) => e.pointer === pointer);
  assert.ok(found, `no problem at ${pointer}; the problems: ${JSON.stringify(errors, null, 1)}`);
  assert.match(found.detail, detail);
  assert.equal(found.in, "body");
  return errors;
}

const read = (doc: unknown): ServiceDocument => readServiceDocument(typeof doc === "string" ? doc : JSON.stringify(doc));
const op = (doc: ServiceDocument, method: string, p: string) => {
  const found = doc.operations.find((o) => o.method === method && o.path === p);
  assert.ok(found, `no ${method} ${p}`);
  return found;
};
const call = (more: { path?: Record<string, string>; query?: string; headers?: Record<string, string>; body?: unknown; contentType?: string } = {}) => ({
  path: more.path ?? {},
  query: new URLSearchParams(more.query ?? ""),
  headers: more.headers ?? {},
  ...(more.body !== undefined ? { body: more.body, contentType: more.contentType ?? "application/json" } : {}),
  ...(more.contentType !== undefined ? { contentType: more.contentType } : {}),
});

/** A population register's service, as an agency would document it (OpenAPI 3.0, the hub's x- marks). */
const REGISTER = {
  openapi: "3.0.3",
  info: { title: "Population register", version: "1.0" },
  paths: {
    "/persons/{idNumber}": {
      get: {
        operationId: "getPerson",
        "x-personal-data": true,
        parameters: [
          { name: "idNumber", in: "path", required: true, "x-subject": true, schema: { type: "string", pattern: "^[0-9]{11}$" } },
          { name: "X-Guardian-Id", in: "header", "x-subject": true, schema: { type: "string" } },
          { name: "fields", in: "query", schema: { type: "array", items: { type: "string", enum: ["name", "deathDate"] } } },
        ],
        responses: {
          "200": { description: "The person", content: { "application/json": { schema: { $ref: "#/components/schemas/Person" } } } },
          "404": { $ref: "#/components/responses/Problem" },
        },
      },
    },
    "/households": {
      post: {
        operationId: "registerHousehold",
        "x-personal-data": true,
        parameters: [{ name: "caseworker", in: "query", required: true, "x-subject": true, schema: { type: "string" } }],
        requestBody: { $ref: "#/components/requestBodies/Household" },
        responses: {
          "2XX": { description: "Registered", content: { "application/json": { schema: { $ref: "#/components/schemas/Household" } } } },
          default: { $ref: "#/components/responses/Problem" },
        },
      },
    },
  },
  components: {
    requestBodies: {
      Household: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Household" } } } },
    },
    responses: {
      Problem: {
        description: "A problem",
        content: { "application/problem+json": { schema: { type: "object", required: ["title"], properties: { title: { type: "string" } } } } },
      },
    },
    schemas: {
      Person: {
        type: "object",
        required: ["idNumber", "name", "registeredAt"],
        properties: {
          idNumber: { type: "string", "x-subject": true },
          name: { type: "string" },
          deathDate: { type: "string", format: "date", nullable: true },
          age: { type: "integer", minimum: 0, exclusiveMinimum: true },
          registeredAt: { type: "string", format: "date-time", readOnly: true },
          children: { type: "array", items: { $ref: "#/components/schemas/Person" } },
        },
      },
      Household: {
        type: "object",
        required: ["applicants"],
        properties: {
          applicants: { type: "array", minItems: 1, items: { $ref: "#/components/schemas/Person" } },
          previousIds: { type: "array", items: { type: "string" }, "x-subject": true },
        },
      },
    },
  },
};
const register = () => structuredClone(REGISTER) as typeof REGISTER & Record<string, unknown>;
const PERSON = "/paths/~1persons~1{idNumber}/get";
const person = { idNumber: "38001085718", name: "Mari Maasikas", registeredAt: "2020-01-01T00:00:00Z" };

// Reading

test("the third-party OpenAPI 3.0 and 3.1 documents are taken, with their operations", () => {
  const petstore = read(fixture("oai-petstore-3.0.yaml"));
  assert.equal(petstore.openapi, "3.0");
  assert.equal(petstore.title, "Swagger Petstore");
  assert.deepEqual(
    petstore.operations.map((o) => [o.method, o.path, o.operationId]),
    [
      ["GET", "/pets", "listPets"],
      ["POST", "/pets", "createPets"],
      ["GET", "/pets/{petId}", "showPetById"],
    ],
  );
  const tictactoe = read(fixture("oai-tictactoe-3.1.json"));
  assert.equal(tictactoe.openapi, "3.1");
  assert.deepEqual(
    tictactoe.operations.map((o) => `${o.method} ${o.path}`),
    ["GET /board", "GET /board/{row}/{column}", "PUT /board/{row}/{column}"],
  );
  // Webhooks are calls the provider makes, not operations of its service.
  assert.deepEqual(
    read(fixture("oai-webhook-example-3.1.yaml")).operations.map((o) => `${o.method} ${o.path}`),
    ["GET /pets"],
  );
  const im = read(fixture("govstack-im-directory-3.0.yaml"));
  assert.equal(im.operations.length, 4);
  assert.equal(read(fixture("oai-petstore-expanded-3.0.yaml")).operations.length, 4);
  assert.ok(Object.isFrozen(im.raw) && Object.isFrozen(im.operations[0]), "the document is frozen");
});

test("a document over 2 MiB is refused by its size in bytes, before it is parsed", () => {
  // Fewer characters than the limit, more bytes: "é" is two bytes in UTF-8.
  const text = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\n# " + "é".repeat(MAX_DOCUMENT_BYTES / 2 + 1);
  assert.ok(text.length < MAX_DOCUMENT_BYTES);
  const { code, errors, message } = refusal(text);
  assert.equal(code, "HUB_ERR_REQUEST_TOO_LARGE");
  assert.deepEqual(
    errors.map((e) => e.pointer),
    [""],
  );
  assert.match(message, /bytes; at most 2097152/);
});

test("a YAML alias bomb is refused within milliseconds, not expanded", () => {
  // A billion laughs: ten aliases of ten aliases... nine levels, 10^9 strings once expanded.
  let bomb = 'openapi: 3.1.0\nlol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i <= 9; i++)
    bomb += `lol${i}: &lol${i} [${Array(10)
      .fill(`*lol${i - 1}`)
      .join(",")}]\n`;
  const started = performance.now();
  const { errors } = refusal(bomb);
  const took = performance.now() - started;
  assert.match(errors[0]!.detail, /YAML aliases beyond the limit of 100/);
  assert.ok(took < 250, `took ${took.toFixed(1)} ms`);
});

test("what is not a JSON or YAML object is refused, and so is a document that refers to itself", () => {
  assert.match(refusal("openapi: [3.1.0").errors[0]!.detail, /neither JSON nor YAML/);
  assert.match(refusal("- openapi\n- 3.1.0\n").errors[0]!.detail, /is an object; this is an array/);
  assert.match(refusal("openapi: 3.1.0\nopenapi: 3.0.0\n").errors[0]!.detail, /Map keys must be unique/);
  assert.match(refusal("openapi: 3.1.0\nx-a: &a\n  b: *a\n").errors[0]!.detail, /refers to itself through a YAML alias/);
});

// Not OpenAPI 3

test("Swagger 2.0 and what is not OpenAPI 3.0 or 3.1 are refused, with the reason", () => {
  refusedAt(fixture("oai-petstore-minimal-2.0.yaml"), "/swagger", /Swagger 2.0 documents are not taken: convert it to OpenAPI 3.0 or 3.1/);
  refusedAt({ ...register(), openapi: "3.2.0" }, "/openapi", /OpenAPI 3.2.0 is not taken: only 3.0.x and 3.1.x/);
  refusedAt("openapi: 3.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "/openapi", /must be a version string.*not 3/);
  const { openapi: _none, ...anonymous } = register();
  refusedAt(anonymous, "", /not an OpenAPI document: it has no "openapi" field/);
});

test("structural problems are refused, every one with its pointer", () => {
  const doc = register();
  (doc.info as Record<string, unknown>).title = undefined; // JSON drops it
  const get = doc.paths["/persons/{idNumber}"].get as Record<string, unknown>;
  get.reqestBody = {};
  (get.responses as Record<string, unknown>)["200"] = { content: {} };
  (get.responses as Record<string, unknown>)["299X"] = { description: "?" };
  (get.parameters as Record<string, unknown>[])[2]!.in = "body";
  const errors = refusedAt(doc, "/info", /must have the field "title"/);
  refusedAt(doc, `${PERSON}/reqestBody`, /is not a field of an operation/);
  refusedAt(doc, `${PERSON}/responses/200`, /must have the field "description"/);
  refusedAt(doc, `${PERSON}/responses/299X`, /is not a response code/);
  refusedAt(doc, `${PERSON}/parameters/2/in`, /must be "path", "query", "header" or "cookie"/);
  assert.equal(errors.length, 5, JSON.stringify(errors));
});

test("a schema that is not valid JSON Schema is refused at its pointer", () => {
  const doc = register();
  doc.components.schemas.Person.properties.name = { type: "text" } as never;
  (doc.components.schemas.Household.properties as Record<string, unknown>).code = { type: "string", pattern: "[a-" };
  refusedAt(doc, "/components/schemas/Person/properties/name/type", /is not a valid schema/);
  refusedAt(doc, "/components/schemas/Household/properties/code/pattern", /not a regular expression/);
  // What the meta-schema lets through but Ajv would throw on at the first call.
  const empty = register();
  Object.assign(empty.components.schemas.Person.properties, { sex: { type: "string", enum: [] } });
  refusedAt(empty, "/components/schemas/Person/properties/sex/enum", /must list at least one value/);
});

// References

test("remote and file references are refused at the pointer of the $ref", () => {
  const doc = register();
  const ok = doc.paths["/persons/{idNumber}"].get.responses["200"].content["application/json"].schema;
  ok.$ref = "https://registry.example/schemas/person.yaml#/Person";
  doc.components.schemas.Household.properties.applicants.items.$ref = "./person.yaml";
  (doc.components.schemas.Household.properties as Record<string, unknown>).address = { $ref: "file:///etc/passwd" };
  refusedAt(doc, `${PERSON}/responses/200/content/application~1json/schema/$ref`, /is a remote reference: the hub fetches nothing/);
  refusedAt(doc, "/components/schemas/Household/properties/applicants/items/$ref", /refers to another file/);
  refusedAt(doc, "/components/schemas/Household/properties/address/$ref", /refers to another file/);
});

test("a reference that resolves to nothing in the document is refused", () => {
  const doc = register();
  doc.paths["/households"].post.requestBody.$ref = "#/components/requestBodies/Househod";
  (doc.components.schemas.Person.properties as Record<string, unknown>).home = { $ref: "#/components/schemas/Address" };
  // `default` is data in a schema, but a response under `responses`: its references are checked too.
  doc.paths["/households"].post.responses.default.$ref = "#/components/responses/Problm";
  refusedAt(doc, "/paths/~1households/post/requestBody/$ref", /"#\/components\/requestBodies\/Househod" does not resolve inside the document/);
  refusedAt(doc, "/paths/~1households/post/responses/default/$ref", /does not resolve/);
  refusedAt(doc, "/components/schemas/Person/properties/home/$ref", /does not resolve/);
  const value = register();
  Object.assign(value.components.schemas.Person.properties, { title: { $ref: "#/info/title" } });
  refusedAt(value, "/components/schemas/Person/properties/title/$ref", /names a value, not an object of the document/);
});

test("recursive schemas are taken and checked; a loop that never goes deeper is refused", () => {
  // Person.children holds Persons: recursion through an item, which ends with the value.
  const doc = read(register());
  const get = validatorsOf(doc, op(doc, "GET", "/persons/{idNumber}"));
  const grandchild = { ...person, children: [{ ...person, children: [{ ...person, name: 7 }] }] };
  assert.deepEqual(get.response({ status: 200, contentType: "application/json", body: grandchild }), [
    { in: "body", pointer: "/children/0/children/0/name", detail: "must be string" },
  ]);
  // A value nested deeper than the stack can follow is a violation, not a crash.
  let nested: Record<string, unknown> = { ...person };
  for (let i = 0; i < 100_000; i++) nested = { ...person, children: [nested] };
  assert.deepEqual(get.response({ status: 200, contentType: "application/json", body: nested }), [
    { in: "body", pointer: "", detail: "nests too deeply to be checked" },
  ]);
  const loop = register();
  Object.assign(loop.components.schemas, { A: { $ref: "#/components/schemas/B" }, B: { $ref: "#/components/schemas/A" } });
  refusedAt(loop, "/components/schemas/A/$ref", /leads back here through other references/);
  const allOf = register();
  Object.assign(allOf.components.schemas, {
    A: { allOf: [{ $ref: "#/components/schemas/B" }] },
    B: { anyOf: [{ $ref: "#/components/schemas/A" }, { type: "string" }] },
  });
  refusedAt(allOf, "/components/schemas/B/anyOf/0", /comes back to itself .* would never end/);
});

test("a chain of references longer than Ajv can compile is refused; a shorter one is compiled", () => {
  const chained = (links: number) => {
    const doc = register();
    for (let i = 0; i < links; i++)
      Object.assign(doc.components.schemas, {
        [`C${i}`]: { type: "object", properties: { next: i + 1 < links ? { $ref: `#/components/schemas/C${i + 1}` } : { type: "string" } } },
      });
    Object.assign(doc.components.schemas.Person.properties, { chain: { $ref: "#/components/schemas/C0" } });
    return doc;
  };
  // Ajv 8 overflows its stack near 300 links; the hub stops at 64.
  // Its longest chain: the requestBody, Household, Person, C0 ... C69.
  refusedAt(chained(70), "/components/requestBodies/Household", /starts a chain of 73 references .* at most 64/);
  const doc = read(chained(40));
  const get = validatorsOf(doc, op(doc, "GET", "/persons/{idNumber}"));
  let deep: unknown = 5;
  for (let i = 0; i < 40; i++) deep = { next: deep };
  assert.deepEqual(
    get.response({ status: 200, contentType: "application/json", body: { ...person, chain: deep } }).map((e) => e.detail),
    ["must be string"],
  );
});

// The hub's rules

test("an operation with personal data must mark who it is about: x-subject", () => {
  const doc = register();
  for (const p of doc.paths["/persons/{idNumber}"].get.parameters) delete (p as Record<string, unknown>)["x-subject"];
  refusedAt(doc, PERSON, /x-personal-data: true, but no parameter or request body field is marked x-subject: true/);
  // The same operation without personal data is taken.
  delete (doc.paths["/persons/{idNumber}"].get as Record<string, unknown>)["x-personal-data"];
  assert.equal(read(doc).operations[0]!.personalData, false);
});

test("x-subject where it cannot mark a value is refused", () => {
  const doc = register();
  Object.assign(doc.paths["/persons/{idNumber}"].get, { "x-subject": true });
  Object.assign(doc.components.schemas.Household, { "x-subject": true });
  doc.paths["/persons/{idNumber}"].get.parameters.push({ name: "session", in: "cookie", "x-subject": true, schema: { type: "string" } } as never);
  (doc.components.schemas.Person.properties.name as Record<string, unknown>)["x-subject"] = "yes";
  refusedAt(doc, `${PERSON}/x-subject`, /here it marks nothing that carries a value/);
  refusedAt(doc, "/components/schemas/Household/x-subject", /marks an object/);
  refusedAt(doc, `${PERSON}/parameters/3/x-subject`, /cannot mark a cookie/);
  refusedAt(doc, "/components/schemas/Person/properties/name/x-subject", /must be true or false/);
});

test("path templates must be well formed and their names declared as path parameters", () => {
  const broken = register();
  Object.assign(broken.paths, { "/persons/{idNumber/address": broken.paths["/persons/{idNumber}"] });
  refusedAt(broken, "/paths/~1persons~1{idNumber~1address", /not a well-formed template/);
  const undeclared = register();
  Object.assign(undeclared.paths, { "/registers/{register}/persons/{idNumber}": undeclared.paths["/persons/{idNumber}"] });
  refusedAt(
    undeclared,
    "/paths/~1registers~1{register}~1persons~1{idNumber}/get",
    /the path names \{register\}, but the operation declares no path parameter "register"/,
  );
  const unnamed = register();
  unnamed.paths["/households"].post.parameters.push({ name: "idNumber", in: "path", required: true, schema: { type: "string" } } as never);
  refusedAt(unnamed, "/paths/~1households/post/parameters/1", /a path parameter that the path "\/households" does not name/);
  const twins = register();
  Object.assign(twins.paths, {
    "/persons/{id}": {
      get: { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "ok" } } },
    },
  });
  refusedAt(twins, "/paths/~1persons~1{id}", /has the same shape as "\/persons\/\{idNumber\}"/);
});

// Schemas in OpenAPI 3.0 and 3.1

test("3.0: nullable adds null, boolean exclusiveMinimum is a bound, readOnly fields are not asked of a request", () => {
  const doc = read(register());
  const get = validatorsOf(doc, op(doc, "GET", "/persons/{idNumber}"));
  const answer = (body: unknown) => get.response({ status: 200, contentType: "application/json", body });
  assert.deepEqual(answer({ ...person, deathDate: null }), []);
  assert.deepEqual(answer({ ...person, name: null }), [{ in: "body", pointer: "/name", detail: "must be string" }]);
  assert.deepEqual(answer({ ...person, age: 0 }), [{ in: "body", pointer: "/age", detail: "must be > 0" }]);
  assert.deepEqual(answer({ ...person, age: 1 }), []);
  assert.deepEqual(answer({ ...person, registeredAt: undefined }), [
    { in: "body", pointer: "/registeredAt", detail: "must have required property 'registeredAt'" },
  ]);
  const post = validatorsOf(doc, op(doc, "POST", "/households"));
  const applicant = { idNumber: "38001085718", name: "Mari Maasikas" }; // registeredAt is readOnly
  assert.deepEqual(post.request(call({ query: "caseworker=49002010976", body: { applicants: [applicant] } })), []);
});

test("3.1: a type list with null takes null, and the schemas are JSON Schema 2020-12", () => {
  const doc = read({
    openapi: "3.1.0",
    info: { title: "Deaths", version: "1" },
    paths: {
      "/deaths/{idNumber}": {
        get: {
          parameters: [{ name: "idNumber", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "ok",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      date: { type: ["string", "null"], format: "date" },
                      place: { const: "home" },
                      causes: { type: "array", prefixItems: [{ type: "string" }] },
                      // 3.0 leftovers, not 3.1 keywords: honoured rather than breaking the compile.
                      note: { type: "string", nullable: true },
                      remark: { nullable: true, description: "free text" },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  });
  const v = validatorsOf(doc, doc.operations[0]!);
  const answer = (body: unknown) => v.response({ status: 200, contentType: "application/json", body });
  assert.deepEqual(answer({ date: null, note: null, remark: null }), []);
  assert.deepEqual(answer({ note: 5 }), [{ in: "body", pointer: "/note", detail: "must be string,null" }]);
  assert.deepEqual(answer({ date: "2024-02-30" }), [{ in: "body", pointer: "/date", detail: "must be a valid date" }]);
  assert.deepEqual(
    answer({ date: 5 }).map((e) => e.pointer),
    ["/date"],
  );
  assert.deepEqual(answer({ place: "away", causes: [1] }), [
    { in: "body", pointer: "/place", detail: "must be equal to constant" },
    { in: "body", pointer: "/causes/0", detail: "must be string" },
  ]);
});

// Calls

test("a call's path, query and headers: required, typed as documented, header names in any case", () => {
  const im = read(fixture("govstack-im-directory-3.0.yaml"));
  const getOpenAPI = validatorsOf(im, op(im, "GET", "/r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/getOpenAPI"));
  const path = { instanceId: "EE", memberClass: "GOV", memberCode: "70000001", applicationCode: "population" };
  // Header names arrive in lower case; the document writes X-GovStack-Client.
  assert.deepEqual(getOpenAPI.request(call({ path, query: "serviceCode=persons", headers: { "x-govstack-client": "EE/GOV/70000002/social" } })), []);
  assert.deepEqual(getOpenAPI.request(call({ path, headers: { "x-govstack-client": "EE/GOV/70000002/social" } })), [
    { in: "query", pointer: "/serviceCode", detail: "must have required property 'serviceCode'" },
  ]);
  assert.deepEqual(getOpenAPI.request(call({ path, query: "serviceCode=persons" })), [
    { in: "header", pointer: "/X-GovStack-Client", detail: "must have required property 'X-GovStack-Client'" },
  ]);

  const pets = read(fixture("oai-petstore-expanded-3.0.yaml"));
  const findById = validatorsOf(pets, op(pets, "GET", "/pets/{id}"));
  assert.deepEqual(findById.request(call({ path: { id: "42" } })), []);
  assert.deepEqual(findById.request(call({ path: { id: "forty-two" } })), [{ in: "path", pointer: "/id", detail: "must be integer" }]);
  const find = validatorsOf(pets, op(pets, "GET", "/pets"));
  assert.deepEqual(find.request(call({ query: "tags=cat&tags=dog&limit=10" })), []);
  assert.deepEqual(find.request(call({ query: "limit=ten" })), [{ in: "query", pointer: "/limit", detail: "must be integer" }]);
  assert.deepEqual(find.request(call({ query: "limit=1&limit=2" })), [{ in: "query", pointer: "/limit", detail: "is given 2 times; it takes one value" }]);

  // Path-level parameters by $ref (3.1), with their bounds.
  const tictactoe = read(fixture("oai-tictactoe-3.1.json"));
  const square = validatorsOf(tictactoe, op(tictactoe, "GET", "/board/{row}/{column}"));
  assert.deepEqual(square.request(call({ path: { row: "2", column: "3" } })), []);
  assert.deepEqual(square.request(call({ path: { row: "4", column: "3" } })), [{ in: "path", pointer: "/row", detail: "must be <= 3" }]);

  const doc = read(register());
  const get = validatorsOf(doc, op(doc, "GET", "/persons/{idNumber}"));
  assert.deepEqual(get.request(call({ path: { idNumber: "123" }, query: "fields=name&fields=age" })), [
    { in: "path", pointer: "/idNumber", detail: 'must match pattern "^[0-9]{11}$"' },
    { in: "query", pointer: "/fields/1", detail: "must be equal to one of the allowed values" },
  ]);
});

test("a call's body: required, checked against its schema with pointers, in a documented media type", () => {
  const pets = read(fixture("oai-petstore-expanded-3.0.yaml"));
  const addPet = validatorsOf(pets, op(pets, "POST", "/pets"));
  assert.deepEqual(addPet.request(call({ body: { name: "Rex", tag: "dog" } })), []);
  assert.deepEqual(addPet.request(call({ body: { tag: 5 } })), [
    { in: "body", pointer: "/name", detail: "must have required property 'name'" },
    { in: "body", pointer: "/tag", detail: "must be string" },
  ]);
  assert.deepEqual(addPet.request(call({ body: { name: "Rex" }, contentType: "application/json; charset=utf-8" })), []);
  assert.deepEqual(addPet.request(call({ body: "name=Rex", contentType: "application/x-www-form-urlencoded" })), [
    { in: "header", pointer: "/content-type", detail: "application/x-www-form-urlencoded is not documented for this operation, which takes application/json" },
  ]);
  assert.deepEqual(addPet.request(call()), [{ in: "body", pointer: "", detail: "a body is required (application/json)" }]);
  const findById = validatorsOf(pets, op(pets, "GET", "/pets/{id}"));
  assert.deepEqual(findById.request(call({ path: { id: "1" }, body: {} })), [{ in: "body", pointer: "", detail: "this operation takes no body" }]);

  const doc = read(register());
  const post = validatorsOf(doc, op(doc, "POST", "/households"));
  assert.deepEqual(post.request(call({ query: "caseworker=4", body: { applicants: [{ idNumber: 380, name: "Mari" }] } })), [
    { in: "body", pointer: "/applicants/0/idNumber", detail: "must be string" },
  ]);
});

test("media ranges: a documented type/* or */* takes the types under it, the most specific first", () => {
  const doc = read({
    openapi: "3.1.0",
    info: { title: "Photos", version: "1" },
    paths: {
      "/photos": {
        post: {
          requestBody: {
            required: true,
            content: { "application/json": { schema: { type: "object", required: ["url"] } }, "image/*": { schema: { type: "string", format: "binary" } } },
          },
          responses: { "201": { description: "ok", content: { "*/*": {} } } },
        },
      },
    },
  });
  const post = validatorsOf(doc, doc.operations[0]!);
  assert.deepEqual(post.request(call({ body: "binary", contentType: "image/png" })), []);
  assert.deepEqual(post.request(call({ body: {}, contentType: "application/json" })), [
    { in: "body", pointer: "/url", detail: "must have required property 'url'" },
  ]);
  assert.deepEqual(post.request(call({ body: "a,b", contentType: "text/csv" })), [
    { in: "header", pointer: "/content-type", detail: "text/csv is not documented for this operation, which takes application/json, image/*" },
  ]);
  assert.deepEqual(post.request({ ...call(), body: {} }), [
    { in: "header", pointer: "/content-type", detail: "a body needs a Content-Type: this operation takes application/json, image/*" },
  ]);
  assert.deepEqual(post.response({ status: 201, contentType: "text/csv", body: "a,b" }), []);
  assert.deepEqual(post.response({ status: 201 }), [{ in: "body", pointer: "", detail: "status 201 is documented with a body (*/*)" }]);
});

// Answers

test("an answer: its status documented (exact, 2XX, default), its body checked or its media type matched", () => {
  const im = read(fixture("govstack-im-directory-3.0.yaml"));
  const listClients = validatorsOf(im, op(im, "GET", "/listClients"));
  const clients = { member: [{ name: "Social Insurance Board", id: { objectType: "MEMBER", instanceId: "EE" } }] };
  assert.deepEqual(listClients.response({ status: 200, contentType: "application/json", body: clients }), []);
  assert.deepEqual(listClients.response({ status: 200, contentType: "application/json", body: { member: [{ id: { objectType: "PERSON" } }] } }), [
    { in: "body", pointer: "/member/0/id/objectType", detail: "must be equal to one of the allowed values" },
  ]);
  assert.deepEqual(listClients.response({ status: 404 }), [
    { in: "body", pointer: "", detail: "status 404 is not documented for GET /listClients, which documents 200, 400, 500" },
  ]);
  assert.deepEqual(listClients.response({ status: 400 }), [], "400 is documented without a body");
  assert.deepEqual(listClients.response({ status: 400, contentType: "application/json", body: {} }), [
    { in: "body", pointer: "", detail: "status 400 is documented without a body" },
  ]);

  // default: the petstore's errors, whatever their status.
  const petstore = read(fixture("oai-petstore-3.0.yaml"));
  const listPets = validatorsOf(petstore, op(petstore, "GET", "/pets"));
  assert.deepEqual(listPets.response({ status: 503, contentType: "application/json", body: { code: 503, message: "down" } }), []);
  assert.deepEqual(listPets.response({ status: 503, contentType: "application/json", body: { code: "503" } }), [
    { in: "body", pointer: "/message", detail: "must have required property 'message'" },
    { in: "body", pointer: "/code", detail: "must be integer" },
  ]);
  assert.deepEqual(listPets.response({ status: 200, contentType: "application/json", body: [{ id: 1, name: "Rex" }] }), []);
  assert.deepEqual(listPets.response({ status: 200, contentType: "text/plain", body: "Rex" }), [
    { in: "header", pointer: "/content-type", detail: "text/plain is not documented for status 200, which takes application/json" },
  ]);

  // 2XX: the register answers 201 for a new household.
  const doc = read(register());
  const post = validatorsOf(doc, op(doc, "POST", "/households"));
  assert.deepEqual(post.response({ status: 201, contentType: "application/json", body: { applicants: [person] } }), []);
  assert.deepEqual(post.response({ status: 201, contentType: "application/json", body: { applicants: [] } }), [
    { in: "body", pointer: "/applicants", detail: "must NOT have fewer than 1 items" },
  ]);
  assert.deepEqual(post.response({ status: 409, contentType: "application/problem+json", body: { title: "Exists" } }), []);

  // A media type that is not JSON: matched, its body not read.
  const tictactoe = read(fixture("oai-tictactoe-3.1.json"));
  const square = validatorsOf(tictactoe, op(tictactoe, "GET", "/board/{row}/{column}"));
  // (its schema allows 256 characters: were the text read, it would break it)
  assert.deepEqual(square.response({ status: 400, contentType: "text/html; charset=utf-8", body: `<p>${"Illegal coordinates ".repeat(20)}</p>` }), []);
  assert.equal(square.response({ status: 400, contentType: "application/json", body: "Illegal" }).length, 1);
  const getOpenAPI = validatorsOf(im, op(im, "GET", "/r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/getOpenAPI"));
  assert.deepEqual(getOpenAPI.response({ status: 200, contentType: "text/yaml", body: "openapi: 3.1.0" }), []);
});

// Subjects

test("the subjects of a call come from the path, the query, the headers and the body's array items", () => {
  const doc = read(register());
  const get = op(doc, "GET", "/persons/{idNumber}");
  assert.deepEqual(get.subjects, [
    { in: "path", name: "idNumber" },
    { in: "header", name: "X-Guardian-Id" },
  ]);
  assert.deepEqual(subjectsIn(get, call({ path: { idNumber: "38001085718" }, headers: { "x-guardian-id": "47101010033" } })), ["38001085718", "47101010033"]);
  const post = op(doc, "POST", "/households");
  assert.deepEqual(post.subjects, [
    { in: "query", name: "caseworker" },
    { in: "body", pointer: "/applicants/*/idNumber" },
    { in: "body", pointer: "/previousIds/*" },
  ]);
  const body = {
    applicants: [{ idNumber: "38001085718" }, { idNumber: "49002010976", children: [{ idNumber: "not followed" }] }],
    previousIds: ["37605030299", "38001085718"],
  };
  assert.deepEqual(subjectsIn(post, call({ query: "caseworker=36107120334", body })), ["36107120334", "38001085718", "49002010976", "37605030299"]);
  assert.deepEqual(subjectsIn(post, call({ query: "caseworker=36107120334" })), ["36107120334"]);
});

// The cache

test("an operation's checks are compiled once, on first use, and kept with the document", () => {
  const counted = Ajv2020.prototype.compile;
  let compiles = 0;
  Ajv2020.prototype.compile = function (this: Ajv2020, ...args: Parameters<typeof counted>) {
    compiles++;
    return counted.apply(this, args);
  } as typeof counted;
  try {
    const doc = read(register());
    assert.equal(compiles, 0, "reading compiles no check");
    const get = op(doc, "GET", "/persons/{idNumber}");
    const first = validatorsOf(doc, get);
    const compiled = compiles;
    assert.ok(compiled > 0);
    assert.equal(validatorsOf(doc, get), first, "the same checks the second time");
    assert.equal(validatorsOf(doc, { ...get }).request, first.request, "found by method and path");
    for (let i = 0; i < 3; i++) {
      first.request(call({ path: { idNumber: "38001085718" } }));
      first.response({ status: 200, contentType: "application/json", body: person });
      first.response({ status: 404, contentType: "application/problem+json", body: { title: "No" } });
    }
    assert.equal(compiles, compiled, "calls compile nothing");
    validatorsOf(doc, op(doc, "POST", "/households"));
    assert.ok(compiles > compiled, "another operation is compiled on its own first use");
    // Another document (even the same text) has its own checks.
    assert.notEqual(validatorsOf(read(register()), get), first);
  } finally {
    Ajv2020.prototype.compile = counted;
  }
});

test("checks that cannot be compiled fail the same way at every call, without compiling again", () => {
  const counted = Ajv2020.prototype.compile;
  let compiles = 0;
  Ajv2020.prototype.compile = function () {
    compiles++;
    throw new RangeError("Maximum call stack size exceeded");
  };
  try {
    const doc = read(register());
    const get = op(doc, "GET", "/persons/{idNumber}");
    assert.throws(() => validatorsOf(doc, get), /The checks of GET \/persons\/\{idNumber\} in "Population register" could not be compiled: Maximum call stack/);
    const tried = compiles;
    assert.throws(() => validatorsOf(doc, get), /could not be compiled/);
    assert.equal(compiles, tried);
  } finally {
    Ajv2020.prototype.compile = counted;
  }
});

test("a refusal names every problem, as RFC 9457 errors about the request body", () => {
  const doc = register();
  doc.paths["/households"].post.requestBody.$ref = "https://elsewhere.example/bodies.yaml";
  delete (doc.paths["/persons/{idNumber}"].get.parameters[0] as Record<string, unknown>)["x-subject"];
  delete (doc.paths["/persons/{idNumber}"].get.parameters[1] as Record<string, unknown>)["x-subject"];
  Object.assign(doc.paths, { "/orphans/{id}": { get: { responses: { "200": { description: "ok" } } } } });
  const { message, errors } = refusal(JSON.stringify(doc));
  assert.deepEqual(
    errors.map((e) => e.pointer),
    ["/paths/~1households/post/requestBody/$ref", PERSON, "/paths/~1orphans~1{id}/get"],
  );
  assert.ok(errors.every((e) => e.in === "body"));
  assert.match(message, /^The OpenAPI document is not taken: \/paths\/~1households\/post\/requestBody\/\$ref .* \(and 2 more problems, listed in errors\)$/);
});
