/** Identifiers the hub derives rather than draws, so the same business case has the same id. */
import { createHash } from "node:crypto";

const HUB_NAMESPACE = "6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b7a61";

/** RFC 9562 name-based UUID (version 5, SHA-1) of `name` in the hub's namespace. */
export function nameBasedUuid(name: string, namespace = HUB_NAMESPACE): string {
  const hash = createHash("sha1")
    .update(Buffer.from(namespace.replace(/-/g, ""), "hex"))
    .update(name, "utf8")
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
