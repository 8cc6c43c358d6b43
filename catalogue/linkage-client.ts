/**
 * Who a linkage's call to a catalogue service is made for (`catalogue.linkageCall`): the
 * linkage's partner, whose subsystem's grants apply, exactly as if it called the service
 * itself; or, for a linkage no partner started (one an agency's event started, say), the hub's
 * own linkages subsystem `{instance}/GOV/linkages/hub`, which providers grant like any client.
 * Its quota and Idempotency-Keys are kept under `hub:linkages`, an id no partner can have.
 */
import type { Config } from "../platform/config";
import type { Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { findPartner, type Partner } from "../partners/registry";

export const hubLinkageSubsystem = (instance: string) => `${instance}/GOV/linkages/hub`;

/** The hub's own client for linkages without partner (partner ids cannot hold a `:`). */
export const hubLinkageClient = (config: Pick<Config, "instance" | "ownCallsQuota">): Partner => ({
  id: "hub:linkages",
  subsystem: hubLinkageSubsystem(config.instance),
  name: "The hub's linkages",
  scopes: [],
  purposes: [],
  // The hub's own work is not a partner's: sized apart (flight reports and dispatches call on it at their own rate).
  quota: config.ownCallsQuota,
  quotaWindowS: 60,
  webhookUrl: null,
  disabled: false,
  createdAt: new Date(0).toISOString(),
});

/** The partner a linkage calls for; a linkage the hub does not know, or a disabled partner's, is refused. */
export async function linkageClient(db: Queryable, config: Pick<Config, "instance" | "ownCallsQuota">, linkageId: string): Promise<Partner> {
  const [row] = await db.query<{ partner_id: string | null }>("SELECT partner_id FROM hub.linkage WHERE id = $1", [linkageId]);
  if (!row) throw new HubError("HUB_ERR_LINKAGE_NOT_FOUND", `No linkage ${linkageId}: a catalogue service is called for a linkage the hub started`);
  if (!row.partner_id) return hubLinkageClient(config);
  const partner = await findPartner(db, row.partner_id);
  if (!partner || partner.disabled)
    throw new HubError("HUB_ERR_FORBIDDEN", `Partner ${row.partner_id}, whose linkage ${linkageId} this is, is ${partner ? "disabled" : "unknown"}`);
  return partner;
}
