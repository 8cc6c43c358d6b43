/**
 * The `audit` service: the audit log read back, for the `linkage-hub audit` CLI (verify,
 * export) over NATS and for auditors over REST (the citizen access report). It runs with the
 * gateway, so the CLI works on the embedded PGlite of `npm start` too.
 */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import type { HubNode } from "../node";
import { publicKeyPem } from "./keys";
import { AUDIT_PAGE, checkpointOf, inclusionProof, readPage, readRecords, subjectHash, type SignedCheckpoint, type StoredRecord } from "./chain";

type Schemas = components["schemas"];

export function auditService(node: HubNode): ServiceSchema {
  const { db, audit } = node;

  async function exportBundle(linkageId: string): Promise<Schemas["AuditBundle"]> {
    const rows = await db.query<{ seq: string }>("SELECT seq FROM hub.audit_record WHERE record->>'linkageId' = $1 ORDER BY seq", [linkageId]);
    const records: Schemas["AuditBundle"]["records"] = [];
    const used = new Map<number, SignedCheckpoint>();
    let pending = 0;
    for (const { seq } of rows) {
      const n = Number(seq);
      const signed = await checkpointOf(db, n);
      if (!signed) {
        pending++;
        continue;
      }
      const { firstSeq, seq: last } = signed.checkpoint;
      const batch: StoredRecord[] = await readRecords(db, firstSeq - 1, last - firstSeq + 1);
      const index = n - firstSeq;
      records.push({ entry: batch[index]!, checkpointSeq: last, index, proof: inclusionProof(batch.map((r) => r.hash), index) });
      used.set(last, signed);
    }
    return {
      format: "linkage-hub-audit-bundle/1",
      linkageId,
      publicKey: publicKeyPem(audit.keys),
      keyId: audit.keys.keyId,
      checkpoints: [...used.values()],
      records,
      pending,
    };
  }

  return {
    name: "audit",
    actions: {
      read: {
        params: contractSchema("AuditQuery"),
        result: contractSchema("AuditLogPage"),
        handler: (ctx: Context<Schemas["AuditQuery"]>) => readPage(db, ctx.params.afterSeq ?? 0, ctx.params.limit ?? AUDIT_PAGE),
      },
      export: {
        params: contractSchema("AuditQuery"),
        result: contractSchema("AuditBundle"),
        handler: (ctx: Context<Schemas["AuditQuery"]>) => exportBundle(ctx.params.linkageId!),
      },
      accessReport: {
        params: contractSchema("AccessReportRequest"),
        result: contractSchema("AccessReport"),
        // Asking who accessed someone's data is itself an access to it.
        audit: (p: { idNumber: string }) => [p.idNumber],
        async handler(ctx: Context<Schemas["AccessReportRequest"]>): Promise<Schemas["AccessReport"]> {
          const subject = subjectHash(audit.keys, ctx.params.idNumber);
          const rows = await db.query<{ seq: string; record: Record<string, string | undefined> }>(
            "SELECT seq, record FROM hub.audit_record WHERE record->'subjects' ? $1 ORDER BY seq",
            [subject],
          );
          return {
            idNumber: ctx.params.idNumber,
            accesses: rows.map(({ seq, record: r }) => ({
              at: r.at!,
              operation: r.operation!,
              outcome: r.outcome!,
              ...(r.partnerId ? { partnerId: r.partnerId } : {}),
              ...(r.purpose ? { purpose: r.purpose } : {}),
              ...(r.linkageId ? { linkageId: r.linkageId } : {}),
              seq: Number(seq),
            })),
          };
        },
      },
    },
  };
}
