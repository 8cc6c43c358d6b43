/**
 * The sync path and its audit record: identity verifications over REST one at a time (each
 * appends one record to the audit chain before it answers), and the append alone, on the same
 * database, so the record's share of the call is seen beside it.
 */
import { appendRecord } from "../../audit/chain";
import type { SeededCitizen } from "../seed-citizens";
import { quantileMs } from "./measure";
import type { BenchStack } from "./stack";

export interface SyncPathFigures {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  auditAppendP50Ms: number;
  auditAppendP99Ms: number;
}

export async function measureSyncPath(stack: BenchStack, people: SeededCitizen[], count: number): Promise<SyncPathFigures> {
  const syncMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const person = people[i % people.length]!;
    const t0 = performance.now();
    const res = await fetch(`${stack.api}/v1/identity-verifications`, {
      method: "POST",
      headers: { ...stack.auth, "data-purpose": "identity-verification", "content-type": "application/json" },
      body: JSON.stringify({ idNumber: person.idNumber, name: person.name }),
    });
    await res.arrayBuffer();
    if (res.status === 200) syncMs.push(performance.now() - t0);
  }
  const appendMs: number[] = [];
  if (!stack.db) throw new Error("the audit appends beside the sync path need the hub's PostgreSQL database");
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await appendRecord(stack.db, { at: new Date().toISOString(), operation: "bench.append", outcome: "OK", subjects: [] });
    appendMs.push(performance.now() - t0);
  }
  return {
    calls: syncMs.length,
    p50Ms: quantileMs(syncMs, 0.5),
    p99Ms: quantileMs(syncMs, 0.99),
    auditAppendP50Ms: quantileMs(appendMs, 0.5),
    auditAppendP99Ms: quantileMs(appendMs, 0.99),
  };
}
