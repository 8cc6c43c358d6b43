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
import { findService, type ServiceRow } from "./registry";
import { RouteIndex } from "./routes";

export interface LiveService {
  row: ServiceRow;
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
    live.catch(() => this.services.delete(id));
    return live;
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
    const row = await findService(this.db, id);
    if (!row) return undefined;
    const document = readServiceDocument(row.document);
    if (!guards.has(id)) guards.set(id, new AgencyGuard(id));
    declareService(id);
    return { row, document, routes: new RouteIndex(document.operations), provider: this.providerOf(row), guard: guards.get(id)! };
  }

  private providerOf(row: ServiceRow): Provider {
    const key = [row.id, row.base_url, row.auth, row.timeout_ms].join(" ");
    if (!providers.has(key))
      providers.set(key, new Provider({ id: row.id, baseUrl: row.base_url, auth: row.auth, timeoutMs: row.timeout_ms, ownPorts: this.ownPorts }));
    return providers.get(key)!;
  }
}
