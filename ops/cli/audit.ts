/**
 * `linkage-hub audit ...`: prove the audit log intact, export one case's evidence, verify it
 * offline, and report who accessed a person's data. Reads the log through the running hub
 * over NATS (embedded PGlite included), or PostgreSQL directly (DATABASE_URL, no hub running).
 * Checkpoints are checked with a key the verifier trusts: `--public-key`, else the hub's audit
 * key file on this machine, never one the database could supply.
 */
import fs from "node:fs";
import { createPublicKey, type KeyObject } from "node:crypto";
import { parseArgs } from "node:util";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config";
import { openDb, type Db } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { AUDIT_PAGE, readPage, verifyBundle, verifyChain, type Bundle, type LogPage } from "../../audit/chain";
import { keyIdOf, loadAuditKeys } from "../../audit/keys";
import { auditKeyFile } from "../../audit/log";
import type { components } from "../../contracts/generated/types";
import { hubBroker, noHub } from "./hub";
import { UsageError } from "./usage";

type Schemas = components["schemas"];

const HELP = `Usage:
  npx linkage-hub audit verify [--public-key <pem file>] [--json]
  npx linkage-hub audit verify --bundle <file> [--public-key <pem file>] [--json]
  npx linkage-hub audit export --linkage <id> [--out <file>]
  npx linkage-hub audit access-report <id number> [--json]

verify         proves the chain intact up to its latest signed checkpoint, or names the
               first broken record and what is wrong with it (exit 1)
verify --bundle  checks an exported bundle offline, without the database
export         writes one linkage's records with their inclusion proofs and the signed
               checkpoints (stdout, or --out)
access-report  which partners accessed this person's data, when, why, with what outcome

The checkpoint key is the one you trust: --public-key, else HUB_AUDIT_KEY or the hub's key
file (HUB_AUDIT_KEY_FILE, default .data/audit-key.json) on this machine.`;

/** The audit log, through the running hub or straight from PostgreSQL. */
interface Log {
  page(afterSeq: number): Promise<LogPage>;
  export(linkageId: string): Promise<Schemas["AuditBundle"]>;
  accessReport(idNumber: string): Promise<Schemas["AccessReport"]>;
  close(): Promise<void>;
}

function overNats(broker: ServiceBroker): Log {
  return {
    page: (afterSeq) => broker.call<LogPage, Schemas["AuditQuery"]>("audit.read", { afterSeq, limit: AUDIT_PAGE }),
    export: (linkageId) => broker.call("audit.export", { linkageId }),
    accessReport: (idNumber) => broker.call("audit.accessReport", { idNumber }),
    close: () => broker.stop(),
  };
}

function direct(db: Db): Log {
  const unsupported = async (): Promise<never> => {
    throw new Error("export and access-report go through the running hub (it holds the audit keys); start it, or point NATS_URL at it");
  };
  return {
    page: (afterSeq) => readPage(db, afterSeq, AUDIT_PAGE),
    export: unsupported,
    accessReport: unsupported,
    close: () => db.close(),
  };
}

async function openLog(): Promise<Log> {
  const broker = await hubBroker("audit");
  if (broker) return overNats(broker);
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error(`${noHub().message} Or set DATABASE_URL to read the audit log from PostgreSQL directly.`);
  const db = await openDb({ url: databaseUrl, pgliteDir: "" });
  await migrateHub(db);
  return direct(db);
}

function trustedKey(file: string | undefined): KeyObject {
  if (file) return createPublicKey(fs.readFileSync(file, "utf8"));
  const config = loadConfig();
  const keys = loadAuditKeys(config.auditKey, auditKeyFile(config), false);
  if (!keys)
    throw new UsageError(
      `No audit key to verify with: give --public-key <pem file>, or set HUB_AUDIT_KEY / HUB_AUDIT_KEY_FILE (looked for ${auditKeyFile(config)}).`,
    );
  return keys.publicKey;
}

type Values = { bundle?: string; "public-key"?: string; linkage?: string; out?: string; json?: boolean; help?: boolean };
type Print = (json: unknown, text: string) => void;

function parse(rest: string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({
      args: rest,
      options: {
        bundle: { type: "string" },
        "public-key": { type: "string" },
        linkage: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
}

export async function auditCommand(args: string[]): Promise<void> {
  const [sub = "", ...rest] = args;
  if (sub === "--help" || sub === "-h") return console.log(HELP);
  if (!["verify", "export", "access-report"].includes(sub)) throw new UsageError(sub ? `Unknown subcommand "${sub}".\n\n${HELP}` : HELP);
  const { values, positionals } = parse(rest);
  if (values.help) return console.log(HELP);
  const print: Print = (json, text) => console.log(values.json ? JSON.stringify(json, null, 2) : text);

  if (sub === "verify" && values.bundle) return verifyBundleFile(values.bundle, values["public-key"], print);
  if (sub === "export" && !values.linkage) throw new UsageError(`export needs --linkage <id>.\n\n${HELP}`);
  if (sub === "access-report" && positionals.length !== 1) throw new UsageError(`access-report needs one id number.\n\n${HELP}`);
  const key = sub === "verify" ? trustedKey(values["public-key"]) : undefined;

  const log = await openLog();
  try {
    if (sub === "verify") await verifyLog(log, key!, values.json === true, print);
    else if (sub === "export") await exportLinkage(log, values.linkage!, values.out);
    else await printAccessReport(log, positionals[0]!, print);
  } finally {
    await log.close();
  }
}

/** An offline bundle, verified against the trusted key (or, said plainly, its own). */
function verifyBundleFile(file: string, trustedKeyFile: string | undefined, print: Print): void {
  const bundle = JSON.parse(fs.readFileSync(file, "utf8")) as Bundle;
  const key = trustedKeyFile ? trustedKey(trustedKeyFile) : createPublicKey(bundle.publicKey);
  const verdict = verifyBundle(bundle, key);
  const keyNote = trustedKeyFile ? "the trusted key" : `the bundle's own key ${keyIdOf(key)} (compare it with the hub's, or pass --public-key)`;
  print(
    verdict,
    verdict.ok
      ? `Bundle of linkage ${bundle.linkageId}: ${verdict.records} records verified against checkpoints signed by ${keyNote}.`
      : `Bundle does NOT verify: ${verdict.problem}`,
  );
  if (!verdict.ok) process.exitCode = 1;
}

async function verifyLog(log: Log, key: KeyObject, json: boolean, print: Print): Promise<void> {
  let read = 0;
  const verdict = await verifyChain(async (after) => {
    const page = await log.page(after);
    read += page.records.length;
    if (!json && read && read % 10_000 < page.records.length) console.error(`… ${read} records read`);
    return page;
  }, key);
  const text = verdict.ok
    ? `Audit log intact: ${verdict.records} records, proven by signed checkpoints up to record ${verdict.provenUpTo}${verdict.unsigned ? ` (${verdict.unsigned} newer records are chained but not yet signed)` : ""}.`
    : `Audit log BROKEN at record ${verdict.broken!.seq}: ${verdict.broken!.problem}. Proven intact up to record ${verdict.provenUpTo}.`;
  print(verdict, text);
  if (!verdict.ok) process.exitCode = 1;
}

async function exportLinkage(log: Log, linkageId: string, out: string | undefined): Promise<void> {
  const bundle = await log.export(linkageId);
  const text = JSON.stringify(bundle, null, 2);
  if (out) fs.writeFileSync(out, text);
  else console.log(text);
  const pending = bundle.pending ? `; ${bundle.pending} not signed by a checkpoint yet (export again in a few seconds)` : "";
  console.error(`${bundle.records.length} records of linkage ${bundle.linkageId}${pending}.`);
}

async function printAccessReport(log: Log, idNumber: string, print: Print): Promise<void> {
  const report = await log.accessReport(idNumber);
  const lines = report.accesses.map(
    (a) => `${a.at}  ${(a.partnerId ?? "(internal)").padEnd(20)}  ${(a.purpose ?? "-").padEnd(22)}  ${a.outcome.padEnd(24)}  ${a.operation}`,
  );
  print(report, report.accesses.length ? lines.join("\n") : "No recorded access to this person's data.");
}
