import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { defaultPayloadConverter, type Payload } from "@temporalio/common";
import { ENCRYPTED, EncryptionCodec, KEY_ID, PayloadIntegrityError, UnknownPayloadKeyError, hubDataConverter, keyIdOf } from "../../platform/payload-codec";
import { listPayloadKeys, payloadKeys, rotatePayloadKey } from "../../platform/payload-keys";

const key = () => randomBytes(32).toString("base64");
const ring = (current: string, ...ids: string[]) => JSON.stringify({ current, keys: Object.fromEntries([current, ...ids].map((id) => [id, key()])) });
const codecOf = (json: string) => new EncryptionCodec(payloadKeys({ payloadKeys: json, dataDir: "" }));
const person = { idNumber: "310104199204300430", name: "周雨浩" };
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString("utf8");

test("a payload round-trips: ciphertext under the current key id, the same payload back", async () => {
  const codec = codecOf(ring("k1"));
  const plain = defaultPayloadConverter.toPayload(person);
  const [sealed] = await codec.encode([plain]);
  assert.equal(text(sealed!.metadata!.encoding), ENCRYPTED);
  assert.equal(keyIdOf(sealed!), "k1");
  assert.doesNotMatch(Buffer.from(sealed!.data!).toString("latin1"), /310104199204300430/);
  assert.doesNotMatch(text(sealed!.data), /周雨浩/);
  const [opened] = await codec.decode([sealed!]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), person);
  assert.equal(text(opened!.metadata!.encoding), "json/plain", "the inner payload's own metadata comes back too");
  const [again] = await codec.encode([plain]);
  assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(sealed!.data!), "a fresh IV each time");
});

test("a plain payload (recorded histories, linkages started before the codec) passes through", async () => {
  const codec = codecOf(ring("k1"));
  const plain = defaultPayloadConverter.toPayload({ status: "COMPLETED" });
  const [out] = await codec.decode([plain]);
  assert.equal(out, plain);
});

test("an altered ciphertext, tag or truncated payload is refused, naming no data", async () => {
  const codec = codecOf(ring("k1"));
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(person)]);
  const flipped = (at: number): Payload => {
    const data = Buffer.from(sealed!.data!);
    data[at] = data[at]! ^ 1;
    return { ...sealed!, data };
  };
  for (const altered of [flipped(20), flipped(sealed!.data!.length - 1), flipped(0), { ...sealed!, data: sealed!.data!.subarray(0, 20) }])
    await assert.rejects(codec.decode([altered]), (err: Error) => err instanceof PayloadIntegrityError && /does not authenticate/.test(err.message));
});

test("the key id is authenticated: a payload relabelled with another key's id is refused", async () => {
  const json = ring("k1", "k2");
  const codec = codecOf(json);
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(person)]);
  const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID]: new TextEncoder().encode("k2") } };
  await assert.rejects(codec.decode([relabelled]), PayloadIntegrityError);
  // The same key under another id still fails: the id is part of what the tag covers.
  const stored = JSON.parse(json) as { keys: Record<string, string> };
  const sameKey = codecOf(JSON.stringify({ current: "k9", keys: { k9: stored.keys.k1, k1: stored.keys.k1 } }));
  const [underK9] = await sameKey.encode([defaultPayloadConverter.toPayload(person)]);
  await assert.rejects(sameKey.decode([{ ...underK9!, metadata: { ...underK9!.metadata, [KEY_ID]: new TextEncoder().encode("k1") } }]), PayloadIntegrityError);
});

test("a payload under a key this node lacks is a clear error naming the key id", async () => {
  const [sealed] = await codecOf(ring("old")).encode([defaultPayloadConverter.toPayload(person)]);
  await assert.rejects(
    codecOf(ring("new")).decode([sealed!]),
    (err: Error) => err instanceof UnknownPayloadKeyError && err.keyId === "old" && /"old".*lack/.test(err.message) && !err.message.includes(person.idNumber),
  );
});

test("a rotation: new payloads under the new key, old ones still decrypt, in the same process without a restart", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "payload-keys-"));
  const source = { payloadKeysFile: path.join(dir, "keys.json"), dataDir: dir };
  const codec = new EncryptionCodec(payloadKeys(source));
  assert.equal(fs.statSync(source.payloadKeysFile).mode & 0o777, 0o600, "created 0600");
  const [before] = await codec.encode([defaultPayloadConverter.toPayload(person)]);
  const { previous, current, ids } = rotatePayloadKey(source.payloadKeysFile);
  assert.equal(previous, keyIdOf(before!));
  assert.deepEqual(ids, [previous, current]);
  assert.equal(fs.statSync(source.payloadKeysFile).mode & 0o777, 0o600, "still 0600");
  // A payload of the new key, from a node that saw the rotation first, is read at once.
  const [fromOther] = await new EncryptionCodec(payloadKeys(source)).encode([defaultPayloadConverter.toPayload(person)]);
  assert.equal(keyIdOf(fromOther!), current);
  assert.deepEqual(defaultPayloadConverter.fromPayload((await codec.decode([fromOther!]))[0]!), person);
  await new Promise((r) => setTimeout(r, 1100));
  const [after] = await codec.encode([defaultPayloadConverter.toPayload(person)]);
  assert.equal(keyIdOf(after!), current, "within a second, this node encrypts under the new key");
  assert.deepEqual(defaultPayloadConverter.fromPayload((await codec.decode([before!]))[0]!), person);
  assert.deepEqual(listPayloadKeys(source), { source: source.payloadKeysFile, current, ids });
  const bytes = (JSON.parse(fs.readFileSync(source.payloadKeysFile, "utf8")) as { keys: Record<string, string> }).keys[current]!;
  assert.ok(!JSON.stringify(listPayloadKeys(source)).includes(bytes), "the list never shows a key");
});

test("key rings that are wrong say what is wrong", () => {
  const bad = (json: string, pattern: RegExp) => assert.throws(() => payloadKeys({ payloadKeys: json, dataDir: "" }), pattern);
  bad("{", /not JSON/);
  bad(JSON.stringify({ current: "a", keys: { a: "c2hvcnQ=" } }), /key a is not 32 bytes/);
  bad(JSON.stringify({ current: "b", keys: { a: key() } }), /current key "b" is not among/);
  bad(JSON.stringify({ current: "a b", keys: { "a b": key() } }), /key id "a b" is not/);
  bad("[]", /not a key ring/);
});

test("the codec is on unless turned off for a benchmark; failures' messages then travel encoded", () => {
  const on = hubDataConverter({ payloadKeys: ring("k1"), dataDir: "" });
  assert.equal(on.payloadCodecs?.length, 1);
  assert.match(String(on.failureConverterPath), /failure-converter/);
  assert.deepEqual(hubDataConverter({ payloadKeys: ring("k1"), dataDir: "", payloadCodec: "off" }), {});
});
