/**
 * The catalogue as one node serves it: each service compiled once (its document read, its
 * routes indexed, its provider's connections and breaker ready) and each client's rights on
 * it, both kept until a change is announced (`access.changed`), and a minute at most.
 */
import type { Db } from "../platform/db";
import { AgencyGuard } from "../platform/resilience";
import { grantRows, type GrantRow } from "./access-rights";
import { readServiceDocument, type ServiceDocument } from "./document";
import { Provider } from "./forward";
import { declareService } from "./metrics";
import { documentText, findServiceMeta, type ServiceMeta } from "./registry";
import { RouteIndex } from "./routes";

export interface LiveService {
  row: ServiceMeta;
  document: ServiceDocument;
  routes: RouteIndex;
  provider: Provider;
  /** The service's breaker and bulkhead, as the built-in agencies have (platform/resilience.ts). */
  guard: AgencyGuard;
}

const TTL_MS = 60_000;

/** Kept across recompiles, so a new document keeps the breaker's state and the open connections. */
const guards = new Map<string, AgencyGuard>();
const providers = new Map<string, Provider>();
/** Documents read and indexed, by service, with the MD5 of the text they were read from. */
const documents = new Map<string, { md5: string; document: ServiceDocument; routes: RouteIndex }>();

export class LiveCatalogue {
  private services = new Map<string, { at: number; live: Promise<LiveService | undefined> }>();
  private rights = new Map<string, { at: number; rows: Promise<GrantRow[]> }>();

  constructor(
    private readonly db: Db,
    /** The hub's own listening ports, which no provider may be. */
    private readonly ownPorts: readonly number[],
  ) {}

  /** The service, compiled; undefined when the catalogue has none of that id. */
  service(id: string): Promise<LiveService | undefined> {
    const hit = this.services.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.live;
    const live = this.compile(id);
    this.services.set(id, { at: Date.now(), live });
    // Only services are kept: an id that names none (made up, say) costs a lookup, not memory.
    live.then(
      (found) => found ?? this.services.delete(id),
      () => this.services.delete(id),
    );
    return live;
  }

  /** Whether `id` names a service this node has compiled (for metric labels: never a made-up id). */
  knows(id: string): boolean {
    return this.services.has(id);
  }

  rightsOf(client: string, serviceId: string): Promise<GrantRow[]> {
    const key = `${client} ${serviceId}`;
    const hit = this.rights.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.rows;
    const rows = grantRows(this.db, { client, service: serviceId });
    this.rights.set(key, { at: Date.now(), rows });
    rows.catch(() => this.rights.delete(key));
    return rows;
  }

  /** Drops what is cached: the registry changed. */
  forget(): void {
    this.services.clear();
    this.rights.clear();
  }

  private async compile(id: string): Promise<LiveService | undefined> {
    const row = await findServiceMeta(this.db, id);
    if (!row) return undefined;
    if (!guards.has(id)) guards.set(id, new AgencyGuard(id));
    declareService(id);
    const { document, routes } = await this.documentOf(row);
    return { row, document, routes, provider: this.providerOf(row), guard: guards.get(id)! };
  }

  /** Documents are read and compiled again only when their text changed (a forget() drops rights and rows, not this). */
  private async documentOf(row: ServiceMeta): Promise<{ document: ServiceDocument; routes: RouteIndex }> {
    const hit = documents.get(row.id);
    if (hit?.md5 === row.document_md5) return hit;
    const document = readServiceDocument(await documentText(this.db, row.id));
    const compiled = { md5: row.document_md5, document, routes: new RouteIndex(document.operations) };
    documents.set(row.id, compiled);
    return compiled;
  }

  private providerOf(row: ServiceMeta): Provider {
    const key = [row.id, row.base_url, row.auth, row.timeout_ms].join(" ");
    if (!providers.has(key))
      providers.set(key, new Provider({ id: row.id, baseUrl: row.base_url, auth: row.auth, timeoutMs: row.timeout_ms, ownPorts: this.ownPorts }));
    return providers.get(key)!;
  }
}
