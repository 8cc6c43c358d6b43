import { test } from "node:test";
import assert from "node:assert/strict";
import { nameBasedUuid } from "../../platform/ids";

test("name-based UUIDs follow RFC 9562 version 5", () => {
  // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
  assert.equal(nameBasedUuid("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  assert.equal(nameBasedUuid("eid-issuance:A-1"), nameBasedUuid("eid-issuance:A-1"));
  assert.notEqual(nameBasedUuid("eid-issuance:A-1"), nameBasedUuid("eid-issuance:A-2"));
});
