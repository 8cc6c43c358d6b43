/**
 * A call to a catalogue service, whatever carried it (REST `/r1/{service id}/{path}`, the
 * NATS action `catalogue.call` or the NATS service's `hub.v1.catalogue.call`), checked exactly as the hub's own operations are: the token,
 * the caller's subsystem, the access right, the purpose, the quota and the Idempotency-Key;
 * then validated against the provider's document, forwarded, its answer validated, audited and
 * counted. Refusals throw HubError (with the headers their answer carries); the caller turns
 * them into problem+json.
 */
import type { Config } from "../platform/config";
import type { Db } from "../platform/db";
import type { ServiceTally } from "../platform/hub-node";
import { HubError } from "../platform/errors";
import { bodyHash } from "../audit/chain";
import type { AuditLog, Write } from "../audit/log";
import { assertOwnClient, statedPurpose, type PartnerAccess } from "../partners/access";
import { payloadKeys } from "../platform/payload-keys";
import { checkedKey, claimKey, fingerprintOf } from "../partners/idempotency";
import type { Partner } from "../partners/registry";
import { rightOn } from "./access-rights";
import { restRouteOf } from "./builtin-documents";
import { isBuiltinSubsystem } from "./builtin-ids";
import { subjectsIn, validatorsOf, type ServiceOperation } from "./document";
import type { LiveCatalogue, LiveService } from "./live";
import { calls, duration, outcomeOfError, serviceCalls, type Outcome } from "./metrics";
import { completedDespite } from "./service-days";
import { assertSendable, forwardedHeaders, answerHeaders } from "./headers";
import { safeSegments } from "./routes";

export interface MediatedRequest {
  serviceId: string;
  method: string;
  /** The path at the provider (raw, percent-encoded) and its query, without `?`. */
  path: string;
  query: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  requestId: string;
  /** `Request-Hash`: what the audit record and the answer bind. */
  requestHash: string;
  /** Told the partner once it is known (for the transport's own metrics and logs). */
  identified?(partnerId: string): void;
  /**
   * Set by an internal caller only (`catalogue.linkageCall`, never REST or `catalogue.call`): the
   * call is a step of this linkage (or checks an application before its linkage is recorded), for this partner, known
   * without a token; the audit record names the linkage.
   */
  forLinkage?: { linkageId?: string; partner: Partner };
}

export interface MediatedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Mediator {
  mediate(request: MediatedRequest): Promise<MediatedAnswer>;
}

interface Deps {
  db: Db;
  config: Config;
  partners: PartnerAccess;
  audit: AuditLog;
  catalogue: LiveCatalogue;
  /** Where calls are counted for the catalogue's figures (service-days.ts). */
  tally: ServiceTally;
}

/** The hash of a mediated request as the answer's `Request-Hash` states it: method, target and body. */
export const mediatedRequestHash = (method: string, target: string, body: Buffer) => bodyHash(Buffer.concat([Buffer.from(`${method} ${target}\n`), body]));

/** A mediated answer as NATS callers get it (`catalogue.call`, `hub.v1.catalogue.call`): its body JSON where it is JSON, else text. */
export function callResultOf(answer: MediatedAnswer): { status: number; headers: Record<string, string>; body?: unknown } {
  const json = /^application\/([\w.-]+\+)?json\b/i.test(answer.headers["content-type"] ?? "") && answer.body.length > 0;
  return {
    status: answer.status,
    headers: answer.headers,
    ...(answer.body.length ? { body: json ? JSON.parse(answer.body.toString("utf8")) : answer.body.toString("utf8") } : {}),
  };
}

export function mediator(deps: Deps): Mediator {
  return {
    async mediate(request) {
      const started = performance.now();
      let outcome: Outcome;
      // Answered below 500: a provider's 4xx and the hub's refusals complete; 5xx and timeouts fail.
      let completed = false;
      try {
        const answer = await admitted(deps, request);
        outcome = answer.status < 400 ? "ok" : "client_error";
        completed = true;
        return answer;
      } catch (err) {
        outcome = outcomeOfError((err as HubError).type);
        completed = completedDespite(err);
        throw err;
      } finally {
        // Series per registered service only: an id a caller made up must not become a label (nor a row).
        const known = deps.catalogue.knows(request.serviceId);
        const label = { service: known ? request.serviceId : "unknown" };
        const ms = performance.now() - started;
        calls.inc({ ...label, outcome: outcome! });
        duration.observe(label, ms / 1000);
        if (known) deps.tally.called(request.serviceId, completed, ms);
        else serviceCalls.inc({ ...label, outcome: completed ? "completed" : "failed" });
      }
    },
  };
}

/** Who calls, then, once the partner is known, every check with its refusal audited. */
async function admitted(deps: Deps, request: MediatedRequest): Promise<MediatedAnswer> {
  const partner = request.forLinkage?.partner ?? (await deps.partners.identify(request.headers.authorization)).partner;
  request.identified?.(partner.id);
  const audited = {
    operation: `catalogue:${request.serviceId}`,
    requestId: request.requestId,
    linkageId: request.forLinkage?.linkageId,
    partnerId: partner.id,
    requestHash: request.requestHash,
  };
  let purpose: string | undefined;
  try {
    assertOwnClient(request.headers, partner);
    assertSendable(request.headers);
    const live = await liveService(deps.catalogue, request.serviceId);
    const { operation, params } = live.routes.match(request.method, safeSegments(request.path || "/"));
    purpose = await permitted(deps, live, operation, partner, request.headers["data-purpose"]);
    const quota = await deps.partners.withinQuota(partner);
    // The call as the document sees it, read once for the checks and the audit record.
    const input = {
      path: params,
      query: new URLSearchParams(request.query),
      headers: request.headers,
      body: jsonOf(request),
      contentType: request.headers["content-type"],
    };
    // The answer's record; a kept answer (Idempotency-Key) commits with it, or neither does.
    const finish: Finish = (answer, alongside) =>
      deps.audit.record(
        {
          ...audited,
          operation: `${audited.operation}:${operation.method} ${operation.path}`,
          outcome: answer.status < 400 ? "OK" : `PROVIDER_${answer.status}`,
          purpose,
          subjects: subjectsIn(operation, input),
          responseHash: bodyHash(answer.body),
        },
        alongside && { alongside },
      );
    const answer = await onceOnly(deps, request, partner, () => called(live, operation, input, request, partner.subsystem), finish);
    return { ...answer, headers: { ...answer.headers, ...quota } };
  } catch (err) {
    // The purpose stated, also where it was refused: the record says what was asked.
    await deps.audit.record({ ...audited, outcome: String((err as HubError).type ?? "ERROR"), purpose: purpose ?? request.headers["data-purpose"] });
    throw err;
  }
}

async function liveService(catalogue: LiveCatalogue, id: string): Promise<LiveService> {
  refuseBuiltin(id);
  const live = await catalogue.service(id);
  if (!live) throw new HubError("HUB_ERR_SERVICE_NOT_FOUND", `No service ${id} in the catalogue; /listClients and listMethods say what there is`);
  if (live.row.disabled_at) throw new HubError("HUB_ERR_SERVICE_DISABLED", `${id} is disabled by its provider's operators`);
  return live;
}

/**
 * A built-in agency's operation is listed in the catalogue but served by the hub at its own
 * REST path, with the same checks (the grant included): mediation does not forward to it.
 */
function refuseBuiltin(id: string): void {
  const [, memberClass = "", memberCode = "", subsystemCode = "", serviceCode = ""] = id.split("/");
  if (!isBuiltinSubsystem({ memberClass, memberCode, subsystemCode })) return;
  const route = restRouteOf(`${memberCode}.${serviceCode}`);
  throw new HubError(
    "HUB_ERR_ROUTE_NOT_FOUND",
    route
      ? `${id} is a built-in agency's operation, which the hub serves at its own REST path: call ${route} (over NATS: the action ${memberCode}.${serviceCode})`
      : `No service ${id} in the catalogue; /listClients and listMethods say what there is`,
  );
}

/** The caller's right on the operation; for personal data, the purpose it states, one the right allows. */
async function permitted(deps: Deps, live: LiveService, op: ServiceOperation, partner: Partner, stated: string | undefined): Promise<string | undefined> {
  const right = rightOn(await deps.catalogue.rightsOf(partner.subsystem, live.row.id), op.method, op.path);
  if (!right) throw new HubError("HUB_ERR_FORBIDDEN", `${partner.subsystem} has no right to ${op.method} ${op.path} of ${live.row.id}`);
  return op.personalData ? statedPurpose(stated, `${op.method} ${op.path} of ${live.row.id}`, partner, right.purposes) : undefined;
}

/** Records an answer's exchange, committing `alongside` with the record. */
type Finish = (answer: MediatedAnswer, alongside?: Write) => Promise<void>;

/**
 * A POST with an Idempotency-Key runs once; a repeat gets the first answer. Every answer is
 * recorded by `finish`; a fresh key's answer is kept in the same commit as its record, so a
 * kept answer always has its record, and a failed record leaves the key free for a retry.
 */
async function onceOnly(deps: Deps, request: MediatedRequest, partner: Partner, run: () => Promise<MediatedAnswer>, finish: Finish): Promise<MediatedAnswer> {
  if (request.method !== "POST" || request.headers["idempotency-key"] === undefined) {
    const answer = await run();
    await finish(answer);
    return answer;
  }
  const key = checkedKey(request.headers["idempotency-key"]);
  const target = `/r1/${request.serviceId}${request.path}${request.query ? `?${request.query}` : ""}`;
  const claim = await claimKey(
    deps.db,
    { ttlS: deps.config.idempotencyTtlS, keys: payloadKeys(deps.config) },
    partner.id,
    key,
    fingerprintOf("POST", target, request.body),
    deps.audit.commit,
  );
  if (claim.replay) {
    // The kept answer carries the first request's id: a replay names the request it answers.
    const replayed = { ...claim.replay, headers: { ...claim.replay.headers, "x-request-id": request.requestId, "idempotent-replayed": "true" } };
    await finish(replayed);
    return replayed;
  }
  try {
    const answer = await run();
    await claim.keep(answer, (write) => finish(answer, write));
    return answer;
  } catch (err) {
    // Not kept: a retry with the key runs again (the provider, given the key too, can tell).
    await claim.keep({ status: 500, headers: {}, body: Buffer.alloc(0) }).catch(() => {});
    throw err;
  }
}

type CallInput = { path: Record<string, string>; query: URLSearchParams; headers: MediatedRequest["headers"]; body: unknown; contentType?: string };

function jsonOf(request: MediatedRequest): unknown {
  if (!request.body.length) return undefined;
  if (!/^application\/([\w.-]+\+)?json\b/i.test(request.headers["content-type"] ?? "")) return request.body.toString("utf8");
  try {
    return JSON.parse(request.body.toString("utf8"));
  } catch {
    throw new HubError("HUB_ERR_REQUEST_MALFORMED", "The body is not valid JSON");
  }
}

/** Validated against the document, forwarded under the service's breaker, its answer validated. */
async function called(live: LiveService, op: ServiceOperation, input: CallInput, request: MediatedRequest, client: string): Promise<MediatedAnswer> {
  const check = validatorsOf(live.document, op);
  const invalid = check.request(input);
  if (invalid.length)
    throw new HubError("HUB_ERR_REQUEST_INVALID", `The request does not match ${op.method} ${op.path} of ${live.row.id}`, { errors: invalid });
  const id = live.row.id;
  const answer = await live.guard.run(async () => {
    const target = request.path + (request.query ? `?${request.query}` : "");
    const got = await live.provider.call({
      method: request.method,
      path: target,
      headers: forwardedHeaders(request, client),
      body: request.body.length ? request.body : undefined,
    });
    if (got.status >= 500) throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${id} answered ${got.status}`, { agency: id, agencyStatus: got.status });
    return got;
  }, false);
  const contentType = answer.headers["content-type"];
  const json = contentType && /^application\/([\w.-]+\+)?json\b/i.test(contentType) && answer.body.length ? parseAnswer(id, answer.body) : undefined;
  const broken = check.response({ status: answer.status, contentType, body: json ?? (answer.body.length ? answer.body.toString("utf8") : undefined) });
  if (broken.length)
    throw new HubError(
      "HUB_ERR_AGENCY_BAD_ANSWER",
      `${id} answered outside its own document: ${broken.map((v) => `${v.pointer || "/"} ${v.detail}`).join("; ")}`,
      { agency: id },
    );
  return { status: answer.status, headers: answerHeaders(answer.headers, request.requestId), body: answer.body };
}

function parseAnswer(id: string, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${id} answered JSON that does not parse`, { agency: id });
  }
}
