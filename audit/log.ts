/**
 * The audit log as the hub writes it: a record per exchange of personal data, appended to
 * the chain before the answer leaves (so an answer a partner received always has its
 * record), and checkpoints signed every `HUB_AUDIT_CHECKPOINT_MS`. A Moleculer middleware
 * records every action that declares `audit` (how to find the people it concerns), whoever
 * calls it: the gateway, an internal service over NATS, a workflow activity.
 */
import path from "node:path";
import client from "prom-client";
import type { Context, Middleware } from "moleculer";
import { metaOf } from "../platform/call-meta";
import type { Db, Queryable } from "../platform/db";
import type { Config } from "../platform/config";
import { appendRecord, appendRecordIn, bodyHash, canonical, checkpoint, subjectHash, type AuditEntry } from "./chain";
import { loadAuditKeys, type AuditKeys } from "./keys";

declare module "moleculer" {
  interface ActionSchema {
    /** The action exchanges personal data: the id numbers of the people concerned, from its params and answer. */
    audit?: (params: never, result: never) => (string | undefined)[];
  }
}

const appendSeconds = new client.Histogram({
  name: "hub_audit_append_seconds",
  help: "Time to append one audit record to the chain (on the answer's path)",
  buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
});

type Entry = Omit<AuditEntry, "at" | "subjects"> & { subjects?: (string | undefined)[] };

export interface AuditLog {
  keys: AuditKeys;
  record(entry: Entry, tx?: Queryable): Promise<void>;
  middleware(): Middleware;
  stop(): Promise<void>;
}

export const auditKeyFile = (config: Config) => config.auditKeyFile ?? path.join(config.dataDir, "audit-key.json");

export function auditKeysOf(config: Config): AuditKeys {
  return loadAuditKeys(config.auditKey, auditKeyFile(config))!;
}

export function openAuditLog(db: Db, config: Config, onError: (err: unknown) => void): AuditLog {
  const keys = auditKeysOf(config);
  const timer = setInterval(() => void checkpoint(db, keys).catch(onError), config.auditCheckpointMs).unref();

  /** Appends `entry`, in `tx` when given (it then commits with the caller's work). */
  async function record(entry: Entry, tx?: Queryable): Promise<void> {
    const subjects = [...new Set((entry.subjects ?? []).filter((s): s is string => typeof s === "string" && s.length > 0))].map((id) => subjectHash(keys, id));
    const full = { ...entry, at: new Date().toISOString(), subjects };
    const stop = appendSeconds.startTimer();
    await (tx ? appendRecordIn(tx, full) : appendRecord(db, full));
    stop();
  }

  return {
    keys,
    record,
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
