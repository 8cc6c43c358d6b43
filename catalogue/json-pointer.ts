/**
 * JSON pointers (RFC 6901) into a parsed OpenAPI document, and the local `$ref`s that name
 * them ("#/components/schemas/Pet"). A pointer is kept as its tokens; `pointerOf` writes it.
 */

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

export const escapeToken = (token: string): string => token.replace(/~/g, "~0").replace(/\//g, "~1");

export const pointerOf = (tokens: readonly string[]): string => tokens.map((t) => "/" + escapeToken(t)).join("");

export function tokensOf(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The value a pointer names, or undefined when there is none. */
export function valueAt(root: unknown, tokens: readonly string[]): unknown {
  let node = root;
  for (const token of tokens) {
    if (Array.isArray(node)) node = /^(0|[1-9]\d*)$/.test(token) ? node[Number(token)] : undefined;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else return undefined;
  }
  return node;
}

/** The tokens a local `$ref` names ("#/a/b" → ["a", "b"]), or undefined when it is not a local JSON pointer. */
export function localRefTokens(ref: string): string[] | undefined {
  if (!ref.startsWith("#/")) return undefined;
  try {
    return tokensOf(decodeURIComponent(ref.slice(1)));
  } catch {
    return undefined; // a stray "%"
  }
}

/** A pointer as a URI fragment (each token percent-encoded), the way Ajv resolves `$ref`s. */
export const fragmentOf = (tokens: readonly string[]): string => "#" + tokens.map((t) => "/" + encodeURIComponent(escapeToken(t))).join("");
