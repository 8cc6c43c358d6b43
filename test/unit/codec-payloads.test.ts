/** The codec server's pure parts: Payloads as protobuf JSON both ways, and the UI origins it answers by default. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { payloadsFromJson, payloadsToJson } from "../../operators/payloads-json";
import { codecOrigins } from "../../gateway/codec-server";

const b64 = (s: string) => Buffer.from(s).toString("base64");

test("Payloads JSON: base64 metadata and data read as bytes and written back the same", () => {
  const json = { payloads: [{ metadata: { encoding: b64("json/plain") }, data: b64('{"a":1}') }, { metadata: { encoding: b64("binary/null") } }] };
  const payloads = payloadsFromJson(json);
  assert.equal(Buffer.from(payloads[0]!.data!).toString(), '{"a":1}');
  assert.equal(Buffer.from(payloads[1]!.metadata!.encoding!).toString(), "binary/null");
  assert.deepEqual(payloadsToJson(payloads), json);
  assert.deepEqual(payloadsToJson([]), { payloads: [] });
});

test("Payloads JSON: anything else is a 400 naming the shape", () => {
  for (const body of [null, [], { payloads: {} }, { payload: [] }, { payloads: [{ data: 12 }] }])
    assert.throws(
      () => payloadsFromJson(body),
      (err: { type?: string }) => err.type === "HUB_ERR_REQUEST_INVALID",
    );
});

test("codec origins: the UI npm start runs unless HUB_CODEC_ORIGINS names others", () => {
  assert.deepEqual(codecOrigins({ codecOrigins: undefined, temporalUiPort: 8233 }), ["http://127.0.0.1:8233", "http://localhost:8233"]);
  assert.deepEqual(codecOrigins({ codecOrigins: ["https://temporal.example.org"], temporalUiPort: 8233 }), ["https://temporal.example.org"]);
});
