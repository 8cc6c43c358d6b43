/**
 * The audit log as the hub writes it: a record per exchange of personal data, committed to
 * the chain before the answer leaves (so an answer a partner received always has its
 * record), and checkpoints signed every `HUB_AUDIT_CHECKPOINT_MS`. The records of concurrent
 * requests on a node are group-committed (audit/batch.ts): one transaction, one chain lock,
 * one INSERT for up to 64 of them. A Moleculer middleware
 * records every action that declares `audit` (how to find the people it concerns), whoever
 * calls it: the gateway, an internal service over NATS, a workflow activity.
 */
import path from "node:path";
import client from "prom-client";
import type { Context, Middleware } from "moleculer";
import { metaOf } from "../platform/call-meta";
import type { Db, Queryable } from "../platform/db";
import type { Config } from "../platform/config";
import { groupCommit } from "./batch";
import { appendRecordIn, appendRecords, bodyHash, canonical, checkpoint, subjectHash, type AuditEntry, type ChainHead } from "./chain";
import { loadAuditKeys, type AuditKeys } from "./keys";

declare module "moleculer" {
  interface ActionSchema {
    /** The action exchanges personal data: the id numbers of the people concerned, from its params and answer. */
    audit?: (params: never, result: never) => (string | undefined)[];
  }
}

const appendSeconds = new client.Histogram({
  name: "hub_audit_append_seconds",
  help: "Time from handing an audit record in to its commit with its batch (on the answer's path); in a caller's transaction, to its append",
  buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
});

const batchRecords = new client.Histogram({
  name: "hub_audit_batch_records",
  help: "Audit records per group-committed transaction (its _count is those transactions; a batch of only idempotency writes counts 0)",
  buckets: [1, 2, 4, 8, 16, 32, 64],
});

type Entry = Omit<AuditEntry, "at" | "subjects"> & { subjects?: (string | undefined)[] };

/** A write that commits in the same transaction as a batch of records (an idempotent answer kept, say). */
export type Write = (tx: Queryable) => Promise<void>;

interface Pending {
  record?: AuditEntry;
  write?: Write;
}

export interface AuditLog {
  keys: AuditKeys;
  /**
   * Resolves once `entry`'s record is committed: in `into` when it is a transaction (the record
   * then commits with the caller's work), else with the next batch, together with `alongside`
   * when given (both commit, or neither).
   */
  record(entry: Entry, into?: Queryable | { alongside: Write }): Promise<void>;
  /** Commits `write` with the next batch of records: no transaction of its own. */
  commit(write: Write): Promise<void>;
  middleware(): Middleware;
  stop(): Promise<void>;
}

export const auditKeyFile = (config: Config) => config.auditKeyFile ?? path.join(config.dataDir, "audit-key.json");

export function auditKeysOf(config: Config): AuditKeys {
  return loadAuditKeys(config.auditKey, auditKeyFile(config))!;
}

/**
 * Records group-committed (audit/batch.ts), or appended in a caller's transaction.
 * Embedded PGlite has one writer, this process: the chain's head is known here, and a batch
 * skips the chain lock and the read of the head (two of its five statements, about 0.5 ms of
 * CPU a request). It is set before the commit, under PGlite's one transaction at a time, and
 * forgotten on a failure or when a record is appended in a caller's transaction.
 */
function chainAppender(db: Db) {
  const knowsHead = db.kind === "pglite";
  let head: ChainHead | undefined;
  const batches = groupCommit<Pending>(async (items) => {
    const records = items.flatMap((i) => (i.record ? [i.record] : []));
    await db
      .transaction(async (tx) => {
        // The other writes first: the chain lock, which every node waits for, is then held the shortest.
        for (const i of items) await i.write?.(tx);
        const stored = await appendRecords(tx, records, head);
        if (knowsHead && stored.length) head = stored[stored.length - 1];
      })
      .catch((err: unknown) => {
        head = undefined;
        throw err;
      });
    batchRecords.observe(records.length);
  });
  return {
    batches,
    inCallers(tx: Queryable, record: AuditEntry) {
      head = undefined;
      return appendRecordIn(tx, record);
    },
  };
}

export function openAuditLog(db: Db, config: Config, onError: (err: unknown) => void): AuditLog {
  const keys = auditKeysOf(config);
  const timer = setInterval(() => void checkpoint(db, keys).catch(onError), config.auditCheckpointMs).unref();
  const appender = chainAppender(db);

  async function record(entry: Entry, into?: Queryable | { alongside: Write }): Promise<void> {
    const subjects = [...new Set((entry.subjects ?? []).filter((s): s is string => typeof s === "string" && s.length > 0))].map((id) => subjectHash(keys, id));
    const full = { ...entry, at: new Date().toISOString(), subjects };
    const stop = appendSeconds.startTimer();
    if (into && !("alongside" in into)) await appender.inCallers(into, full);
    else await appender.batches.add({ record: full, write: into?.alongside });
    stop();
  }

  return {
    keys,
    record,
    commit: (write) => appender.batches.add({ write }),
    middleware: (): Middleware => ({
      name: "Audit",
      localAction(handler: (ctx: Context) => Promise<unknown>, action: { name?: string; audit?: unknown }) {
        if (!action.audit) return handler;
        const subjectsOf = action.audit as (params: unknown, result: unknown) => (string | undefined)[];
        return async function audited(ctx: Context) {
          const meta = metaOf(ctx);
          const base = {
            operation: String(action.name),
            requestId: ctx.requestID ?? undefined,
            linkageId: meta.linkageId,
            partnerId: meta.partner,
            purpose: meta.purpose,
            requestHash: meta.requestHash ?? bodyHash(canonical(ctx.params)),
          };
          let result: unknown;
          try {
            result = await handler(ctx);
          } catch (err) {
            await record({ ...base, outcome: String((err as { type?: string }).type ?? "ERROR"), subjects: safe(() => subjectsOf(ctx.params, undefined)) });
            throw err;
          }
          await record({ ...base, outcome: "OK", responseHash: bodyHash(JSON.stringify(result) ?? ""), subjects: safe(() => subjectsOf(ctx.params, result)) });
          return result;
        };
      },
    }),
    async stop() {
      clearInterval(timer);
      await appender.batches.drain();
      await checkpoint(db, keys).catch(onError);
    },
  };
}

const safe = (f: () => (string | undefined)[]) => {
  try {
    return f();
  } catch {
    return [];
  }
};
