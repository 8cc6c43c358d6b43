/**
 * The `audit` service: the audit log read back, for the `linkage-hub audit` CLI (verify,
 * export) over NATS and for auditors over REST (the citizen access report). It runs with the
 * gateway, so the CLI works on the embedded PGlite of `npm start` too.
 */
import type { KeyObject } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import client from "prom-client";
import { actionContract } from "../contracts";
import type { components } from "../contracts/generated/types";
import type { HubNode } from "../platform/hub-node";
import type { AuditLog } from "./log";
import type { Db } from "../platform/db";
import { publicKeyPem, type AuditKeys } from "./keys";
import {
  AUDIT_PAGE,
  checkpointOf,
  inclusionProof,
  readPage,
  readRecords,
  subjectHash,
  verifyChain,
  type ChainPosition,
  type SignedCheckpoint,
  type Verdict,
  type StoredRecord,
} from "./chain";

type Schemas = components["schemas"];

/** Registered by the node that verifies, once it has: a gauge without labels would read 0 ("broken") before. */
let gauges: { intact: client.Gauge; verified: client.Gauge } | undefined;
function reportVerdict(verdict: Verdict): void {
  gauges ??= {
    intact: new client.Gauge({
      name: "hub_audit_chain_intact",
      help: "The last verification of the audit chain against its signed checkpoints found it intact (1) or broken (0)",
    }),
    verified: new client.Gauge({
      name: "hub_audit_chain_verified_records",
      help: "Records of the audit chain proven intact by signed checkpoints, at the last verification",
    }),
  };
  gauges.intact.set(verdict.ok ? 1 : 0);
  gauges.verified.set(verdict.provenUpTo);
}

/**
 * Verifies the chain now and every `everyMs`, each time from where the last intact run
 * ended, so the cost follows the records added. A broken chain stays reported broken: the
 * next run starts again from the last position proven intact.
 */
function verifyContinuously(db: Db, publicKey: KeyObject, everyMs: number, onError: (err: unknown) => void): () => void {
  let from: ChainPosition | undefined;
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const verdict = await verifyChain((afterSeq) => readPage(db, afterSeq, AUDIT_PAGE), publicKey, from);
      reportVerdict(verdict);
      if (verdict.ok) from = verdict.proven;
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(run, everyMs).unref();
  return () => clearInterval(timer);
}

/** Every record of a linkage, each with the signed checkpoint and Merkle proof that show it is in the log (offline-verifiable). */
async function exportBundle(db: Db, keys: AuditKeys, linkageId: string): Promise<Schemas["AuditBundle"]> {
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
    const proof = inclusionProof(
      batch.map((r) => r.hash),
      index,
    );
    records.push({ entry: batch[index]!, checkpointSeq: last, index, proof });
    used.set(last, signed);
  }
  const checkpoints = [...used.values()];
  return { format: "linkage-hub-audit-bundle/1", linkageId, publicKey: publicKeyPem(keys), keyId: keys.keyId, checkpoints, records, pending };
}

/** Who accessed a citizen's data, when and for what purpose: the records that name their (keyed) hash. */
async function accessReport(db: Db, keys: AuditKeys, idNumber: string): Promise<Schemas["AccessReport"]> {
  const rows = await db.query<{ seq: string; record: Record<string, string | undefined> }>(
    "SELECT seq, record FROM hub.audit_record WHERE record->'subjects' ? $1 ORDER BY seq",
    [subjectHash(keys, idNumber)],
  );
  return {
    idNumber,
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
}

export function auditService(node: HubNode, audit: AuditLog): ServiceSchema {
  const { db } = node;
  let stopVerifying = () => {};
  return {
    name: "audit",
    started() {
      stopVerifying = verifyContinuously(db, audit.keys.publicKey, node.config.auditVerifyMs, (err) =>
        this.logger.warn({ err: String(err) }, "audit verification: will retry"),
      );
    },
    stopped() {
      stopVerifying();
    },
    actions: {
      read: {
        ...actionContract("AuditQuery", "AuditLogPage"),
        handler: (ctx: Context<Schemas["AuditQuery"]>) => readPage(db, ctx.params.afterSeq ?? 0, ctx.params.limit ?? AUDIT_PAGE),
      },
      export: {
        ...actionContract("AuditQuery", "AuditBundle"),
        handler: (ctx: Context<Schemas["AuditQuery"]>) => exportBundle(db, audit.keys, ctx.params.linkageId!),
      },
      accessReport: {
        ...actionContract("AccessReportRequest", "AccessReport"),
        // Asking who accessed someone's data is itself an access to it.
        audit: (p: { idNumber: string }) => [p.idNumber],
        handler: (ctx: Context<Schemas["AccessReportRequest"]>) => accessReport(db, audit.keys, ctx.params.idNumber),
      },
    },
  };
}
