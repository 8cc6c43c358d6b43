import { test } from "node:test";
import assert from "node:assert/strict";
import { describeFindings, scanBytes, scanText } from "../support/personal-data-scan";

const ID = "110101199003070012";
const NAME = "张伟";
const needles = { ids: new Set([ID, "11010119900307002X"]), names: new Set([NAME, "阿依古丽·买买提"]) };
const b64url = (s: string) => Buffer.from(s).toString("base64url");

test("an id number or a name in clear is found, also between binary bytes or glued to other digits", () => {
  assert.deepEqual(scanText(`{"citizenNo":"${ID}","fullName":"${NAME}"}`, needles), [
    { what: "id number", value: ID, via: "plain" },
    { what: "name", value: NAME, via: "plain" },
  ]);
  const protobuf = Buffer.concat([
    Buffer.from([0x0a, 0x32, 0x31]),
    Buffer.from(`11010119900307002X`),
    Buffer.from([0xff, 0x12, 0x06]),
    Buffer.from(NAME),
    Buffer.from([0x00]),
  ]);
  assert.deepEqual(
    scanBytes(protobuf, needles).map((h) => h.value),
    ["11010119900307002X", NAME],
  );
  assert.deepEqual(scanText(`"name":"\\u963f\\u4f9d\\u53e4\\u4e3d\\u00b7\\u4e70\\u4e70\\u63d0"`, needles), [
    { what: "name", value: "阿依古丽·买买提", via: "plain" },
  ]);
});

test("a name inside other words, another id number or a longer name is not taken for one", () => {
  assert.deepEqual(scanText(`张伟国 110101199003070013 ${ID.slice(1)} 北京张伟`, needles), []);
});

test("an e-ID credential's holder is found in its payload; base64 blobs are decoded at any alignment", () => {
  const jws = `${b64url('{"alg":"EdDSA","typ":"eid+jwt"}')}.${b64url(`{"citizen_no":"${ID}","full_name":"${NAME}"}`)}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;
  assert.deepEqual(scanText(`credential=${jws}`, needles), [
    { what: "id number", value: ID, via: "JWS payload" },
    { what: "name", value: NAME, via: "JWS payload" },
  ]);
  const blob = Buffer.from(JSON.stringify({ body: { citizenNo: ID } })).toString("base64");
  for (const glued of ["", "Z", "Zq", "Zq9"]) assert.deepEqual(scanText(`"${glued}${blob}"`, needles), [{ what: "id number", value: ID, via: "base64" }]);
  // A credential inside a base64 blob is still a credential's holder.
  assert.deepEqual(
    scanText(Buffer.from(JSON.stringify({ credential: jws })).toString("base64"), needles).map((h) => h.value),
    [ID, NAME],
  );
});

test("findings are listed per store and place, capped", () => {
  const logs = Array.from({ length: 4 }, (_, i) => ({ store: "logs", where: `a${i % 3}.log`, what: "id number" as const, value: ID, via: "plain" as const }));
  const rows = ["x", "y", "z"].map((v, i) => ({ store: "hub database", where: `hub.t row ${i + 1}`, what: "name" as const, value: v, via: "base64" as const }));
  assert.equal(
    describeFindings([...logs, ...rows], 2, 2),
    [
      "logs: 4 found in 3 places",
      `  a0.log: 2: id number ${ID}`,
      `  a1.log: 1: id number ${ID}`,
      "  … and 1 more places",
      "hub database: 3 found in 1 place",
      "  hub.t: 3: name x (base64), name y (base64), …",
    ].join("\n"),
  );
});
