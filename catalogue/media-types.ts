/** Media types as a document names them (`content` keys, perhaps ranges) and as a call carries them (Content-Type). */

/** The media type of a Content-Type value: lower case, parameters dropped; undefined when there is none. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type || undefined;
}

/** JSON, and the JSON-based types (`application/problem+json`). */
export const isJsonMediaType = (type: string): boolean => type === "application/json" || /^[a-z0-9.!#$&^_+-]+\/[a-z0-9.!#$&^_+-]+\+json$/.test(type);

/** The documented media type a call's type falls under, the most specific first: exact, then `type/*`, then `*\/*`. */
export function matchMediaType(type: string, documented: readonly string[]): string | undefined {
  const byType = new Map(documented.map((key) => [mediaTypeOf(key), key]));
  return byType.get(type) ?? byType.get(type.split("/")[0] + "/*") ?? byType.get("*/*");
}
