/**
 * A service's own route index: its document's path templates as a tree of segments, so a
 * mediated call finds its operation in one walk down the path (literal segments before
 * templated ones, as OpenAPI wants), never by trying every template in turn.
 */
import { HubError } from "../platform/errors";
import type { ServiceOperation } from "./document";

interface Node {
  literal: Map<string, Node>;
  /** Templated segments (`{id}`, `{name}.json`), each with the pattern that reads it. */
  templated: { pattern: RegExp; names: string[]; node: Node }[];
  operations: Map<string, ServiceOperation>;
}

const node = (): Node => ({ literal: new Map(), templated: [], operations: new Map() });
const escape = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");

export interface Match {
  operation: ServiceOperation;
  params: Record<string, string>;
}

export class RouteIndex {
  private readonly root = node();

  constructor(operations: ServiceOperation[]) {
    for (const op of operations) this.add(op);
  }

  private add(op: ServiceOperation): void {
    let at = this.root;
    for (const segment of op.path.split("/").slice(1)) {
      if (!segment.includes("{")) {
        if (!at.literal.has(segment)) at.literal.set(segment, node());
        at = at.literal.get(segment)!;
        continue;
      }
      const names = [...segment.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const source =
        "^" +
        segment
          .split(/\{[^}]+\}/)
          .map(escape)
          .join("([^/]+?)") +
        "$";
      let entry = at.templated.find((t) => t.pattern.source === source);
      if (!entry) at.templated.push((entry = { pattern: new RegExp(source), names, node: node() }));
      at = entry.node;
    }
    at.operations.set(op.method, op);
  }

  /** The operation `method` names at `segments` (decoded); 404 where no path matches, 405 (naming the allowed) where no method does. */
  match(method: string, segments: string[]): Match {
    const found = walk(this.root, segments, 0, {});
    if (!found) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", "The service's document has no such path");
    const operation = found.node.operations.get(method);
    if (!operation) {
      const allowed = [...found.node.operations.keys()];
      throw new HubError("HUB_ERR_ROUTE_METHOD", `${method} is not allowed here; use ${allowed.join(", ")}`, { headers: { Allow: allowed.join(", ") } });
    }
    return { operation, params: found.params };
  }
}

function walk(at: Node, segments: string[], i: number, params: Record<string, string>): { node: Node; params: Record<string, string> } | undefined {
  if (i === segments.length) return at.operations.size ? { node: at, params } : undefined;
  const segment = segments[i]!;
  const literal = at.literal.get(segment);
  const viaLiteral = literal && walk(literal, segments, i + 1, params);
  if (viaLiteral) return viaLiteral;
  for (const t of at.templated) {
    const m = t.pattern.exec(segment);
    if (!m) continue;
    const found = walk(t.node, segments, i + 1, { ...params, ...Object.fromEntries(t.names.map((n, k) => [n, m[k + 1]!])) });
    if (found) return found;
  }
  return undefined;
}

/**
 * The decoded segments of a mediated path, refusing what could reach outside it: `.` and `..`
 * (also percent-encoded), empty segments (`//`), encoded slashes and backslashes, NUL.
 */
export function safeSegments(rawPath: string): string[] {
  const refuse = (why: string) => new HubError("HUB_ERR_REQUEST_INVALID", `The path ${why}`);
  if (!rawPath.startsWith("/")) throw refuse("must start with /");
  if (/%2f|%5c|\\|%00/i.test(rawPath)) throw refuse("may not hold encoded slashes, backslashes or NUL");
  const raw = rawPath.split("/").slice(1);
  if (raw.slice(0, -1).some((s) => s === "")) throw refuse("may not hold empty segments (//)");
  return raw.map((s) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      throw refuse("is not valid percent-encoding");
    }
    if (decoded === "." || decoded === "..") throw refuse("may not hold . or .. segments");
    return decoded;
  });
}
