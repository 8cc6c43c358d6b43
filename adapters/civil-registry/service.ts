/** The civil registry adapter: the hub's contract on one side, the registry's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { agencyAction, AgencyClient, agencyService } from "../../platform/agency-client";
import { assertPurpose, linkageIdOf } from "../../platform/call-meta";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import type { HubNode } from "../../platform/hub-node";
import { eidSignatureChecker, type SignatureCheck } from "./eid-verifier";
import {
  fromAddressChange,
  fromAddressChangeRead,
  fromEidHolder,
  fromEidIssue,
  fromEidStatus,
  fromMaritalStatus,
  fromMarriage,
  fromMarriageRead,
  fromPerson,
  fromPersonCheck,
  fromRevocation,
  toMarriage,
  toPersonCheck,
} from "./mapping";

type Schemas = components["schemas"];

/**
 * The purposes the reads by reference answer for (events carry references only: a consumer
 * that needs the people asks here). A person: any public service that must know who it
 * deals with; a marriage or an address change: registering it, and (a move) the utilities.
 */
export const READ_PURPOSES = {
  person: ["civil-registration", "identity-verification", "utility-service", "emergency-response"],
  marriage: ["civil-registration"],
  addressChange: ["civil-registration", "utility-service"],
} as const;

/** What the actions stand on: the registry's system, its e-ID signature check, and the outbox. */
interface Registry {
  client: AgencyClient;
  checkSignature: (credential: string) => Promise<SignatureCheck>;
  publish: (ctx: Context, type: string, data: object, subject: string, id: string) => Promise<void>;
}

export function civilRegistryService(node: HubNode): ServiceSchema {
  const { civilRegistryUrl, civilRegistryTimeoutMs, civilRegistryToken } = node.config;
  const client = new AgencyClient("civil-registry", civilRegistryUrl, civilRegistryTimeoutMs, { token: civilRegistryToken });
  const registry: Registry = {
    client,
    checkSignature: eidSignatureChecker(client.agency, civilRegistryUrl, civilRegistryTimeoutMs, civilRegistryToken),
    publish: outboxPublisher(node),
  };

  return agencyService(
    client,
    node.config.agencyProbeMs,
    {
      name: "civil-registry",
      actions: {
        "identity.verify": {
          ...agencyAction("read", "IdentityVerificationRequest", "IdentityVerificationResult"),
          audit: (p: { idNumber: string }) => [p.idNumber],
          handler: (ctx) => verifyIdentity(registry, ctx),
        },
        "eid.issue": {
          ...agencyAction("change", "EidIssueParams", "Eid"),
          audit: (p: { idNumber: string }) => [p.idNumber],
          handler: (ctx) => issueEid(registry, ctx),
        },
        "eid.verify": {
          ...agencyAction("read", "EidVerificationRequest", "EidVerificationResult"),
          audit: () => [],
          handler: (ctx) => verifyEid(registry, ctx),
        },
        "eid.revoke": {
          ...agencyAction("change", "EidRevokeParams", "EidRevocation"),
          audit: (_p: unknown, r?: { idNumber?: string }) => [r?.idNumber],
          handler: (ctx) => revokeEid(registry, ctx),
        },
        "marital-status.get": {
          ...agencyAction("read", "MaritalStatusParams", "MaritalStatus"),
          audit: (p: { idNumber: string }) => [p.idNumber],
          handler: (ctx) => maritalStatus(registry, ctx),
        },
        "marriage.register": {
          ...agencyAction("change", "MarriageRegisterParams", "Marriage"),
          audit: (p: { applicants: { idNumber: string }[] }) => p.applicants.map((a) => a.idNumber),
          handler: (ctx) => registerMarriage(registry, ctx),
        },
        ...referenceReads(registry),
        "household.change-address": {
          ...agencyAction("change", "AddressChangeParams", "AddressChange"),
          audit: (p: { idNumbers: string[] }) => p.idNumbers,
          handler: (ctx) => changeAddress(registry, ctx),
        },
      },
    },
    node.tally,
  );
}

/** The reads by the references the registry's events carry: each audited, each for its purposes only. */
function referenceReads(registry: Registry): ServiceSchema["actions"] {
  return {
    "person.get": {
      ...agencyAction("read", "PersonLookupParams", "Person"),
      audit: (p: { idNumber?: string }, r?: { idNumber?: string }) => [p.idNumber, r?.idNumber],
      handler: (ctx: Context<Schemas["PersonLookupParams"]>) => getPerson(registry, ctx),
    },
    "marriage.get": {
      ...agencyAction("read", "MarriageGetParams", "Marriage"),
      audit: (_p: unknown, r?: { spouses?: string[] }) => r?.spouses ?? [],
      handler: (ctx: Context<Schemas["MarriageGetParams"]>) => getMarriage(registry, ctx),
    },
    "address-change.get": {
      ...agencyAction("read", "AddressChangeGetParams", "AddressChange"),
      audit: (_p: unknown, r?: { idNumbers?: string[] }) => r?.idNumbers ?? [],
      handler: (ctx: Context<Schemas["AddressChangeGetParams"]>) => getAddressChange(registry, ctx),
    },
  };
}

/**
 * Publishes a fact the registry has confirmed, through the outbox. The event id is derived
 * from the registry's record, so a retried or repeated call yields the same id and JetStream
 * keeps one copy (within its de-duplication window).
 */
function outboxPublisher(node: HubNode): Registry["publish"] {
  return async (ctx, type, data, subject, id) => {
    const event = createEvent(type, data, { source: "civil-registry", subject, id, requestId: ctx.requestID, linkageId: linkageIdOf(ctx) });
    await node.db.transaction((tx) => enqueue(tx, event));
    node.outbox.kick();
  };
}

async function verifyIdentity({ client }: Registry, ctx: Context<Schemas["IdentityVerificationRequest"]>): Promise<Schemas["IdentityVerificationResult"]> {
  const answer = await client.call({ method: "POST", path: "/registry/v2/person-checks", body: toPersonCheck(ctx.params), ctx, retry: true });
  return fromPersonCheck(client, answer);
}

async function issueEid({ client, publish }: Registry, ctx: Context<Schemas["EidIssueParams"]>): Promise<Schemas["Eid"]> {
  const { idNumber, idempotencyKey } = ctx.params;
  const answer = await client.call({ method: "POST", path: "/registry/v2/eids", body: { citizenNo: idNumber }, idempotencyKey, retry: true, ctx });
  const eid = fromEidIssue(client, answer, idNumber);
  const data: Schemas["EidIssuedEvent"] = { eidNo: eid.eidNo, issuedAt: eid.issuedAt, expiresAt: eid.expiresAt };
  await publish(ctx, "civil-registry.eid.issued", data, eid.eidNo, `eid-issued:${eid.eidNo}`);
  return eid;
}

/** The signature against the registry's JWKS first; then whether the registry still holds the e-ID ACTIVE and unexpired. */
async function verifyEid({ client, checkSignature }: Registry, ctx: Context<Schemas["EidVerificationRequest"]>): Promise<Schemas["EidVerificationResult"]> {
  const signed = await checkSignature(ctx.params.credential);
  if (!signed.ok) return { valid: false, reason: signed.reason };
  const answer = await client.call({ method: "GET", path: `/registry/v2/eids/${encodeURIComponent(signed.eidNo)}/status`, ctx, retry: true });
  const status = fromEidStatus(client, answer, signed.eidNo);
  if (!status) return { valid: false, reason: "UNKNOWN_EID" };
  if (status.status === "REVOKED") return { valid: false, reason: "REVOKED" };
  if (Date.parse(status.expiresAt) <= Date.now()) return { valid: false, reason: "EXPIRED" };
  return { valid: true, eidNo: signed.eidNo };
}

async function revokeEid({ client, publish }: Registry, ctx: Context<Schemas["EidRevokeParams"]>): Promise<Schemas["EidRevocation"]> {
  const { eidNo, reason, idempotencyKey } = ctx.params;
  const answer = await client.call({
    method: "POST",
    path: `/registry/v2/eids/${encodeURIComponent(eidNo)}/revocation`,
    body: reason === undefined ? {} : { reason },
    idempotencyKey,
    retry: true,
    ctx,
  });
  const { idNumber: _holder, ...revocation } = fromRevocation(client, answer, eidNo);
  await publish(
    ctx,
    "civil-registry.eid.revoked",
    { eidNo, revokedAt: revocation.revokedAt } satisfies Schemas["EidRevokedEvent"],
    eidNo,
    `eid-revoked:${eidNo}`,
  );
  return revocation;
}

async function maritalStatus({ client }: Registry, ctx: Context<Schemas["MaritalStatusParams"]>): Promise<Schemas["MaritalStatus"]> {
  const { idNumber } = ctx.params;
  const answer = await client.call({ method: "GET", path: `/registry/v2/persons/${idNumber}/marital-status`, ctx, retry: true });
  return fromMaritalStatus(client, answer, idNumber);
}

async function registerMarriage({ client, publish }: Registry, ctx: Context<Schemas["MarriageRegisterParams"]>): Promise<Schemas["Marriage"]> {
  const answer = await client.call({
    method: "POST",
    path: "/registry/v2/marriages",
    body: toMarriage(ctx.params),
    idempotencyKey: ctx.params.idempotencyKey,
    retry: true,
    ctx,
  });
  const marriage = fromMarriage(client, answer, ctx.params);
  const data: Schemas["MarriageRegisteredEvent"] = { registrationNo: marriage.registrationNo, registeredAt: marriage.registeredAt };
  await publish(ctx, "civil-registry.marriage.registered", data, marriage.registrationNo, `marriage-registered:${marriage.registrationNo}`);
  return marriage;
}

async function changeAddress({ client, publish }: Registry, ctx: Context<Schemas["AddressChangeParams"]>): Promise<Schemas["AddressChange"]> {
  const { idNumbers, address, idempotencyKey } = ctx.params;
  const answer = await client.call({
    method: "POST",
    path: "/registry/v2/address-changes",
    body: { citizenNos: idNumbers, address },
    idempotencyKey,
    retry: true,
    ctx,
  });
  const change = fromAddressChange(client, answer, ctx.params);
  const data: Schemas["HouseholdAddressChangedEvent"] = { changeNo: change.changeNo, effectiveAt: change.effectiveAt };
  await publish(ctx, "civil-registry.household.address-changed", data, change.changeNo, `address-changed:${change.changeNo}`);
  return change;
}

/** A person by identity number, or the holder of an e-ID by its number (the e-ID events' reference). */
async function getPerson({ client }: Registry, ctx: Context<Schemas["PersonLookupParams"]>): Promise<Schemas["Person"]> {
  assertPurpose(ctx, READ_PURPOSES.person, "civil-registry.person.get");
  const p = ctx.params as { idNumber?: string; eidNo?: string };
  let idNumber = p.idNumber;
  if (!idNumber) {
    const eidNo = p.eidNo!;
    const record = await client.call({ method: "GET", path: `/registry/v2/eids/${encodeURIComponent(eidNo)}`, ctx, retry: true });
    idNumber = fromEidHolder(client, record, eidNo);
  }
  const answer = await client.call({ method: "GET", path: `/registry/v2/persons/${idNumber}`, ctx, retry: true });
  return fromPerson(client, answer, idNumber);
}

async function getMarriage({ client }: Registry, ctx: Context<Schemas["MarriageGetParams"]>): Promise<Schemas["Marriage"]> {
  assertPurpose(ctx, READ_PURPOSES.marriage, "civil-registry.marriage.get");
  const { registrationNo } = ctx.params;
  const answer = await client.call({ method: "GET", path: `/registry/v2/marriages/${registrationNo}`, ctx, retry: true });
  return fromMarriageRead(client, answer, registrationNo);
}

async function getAddressChange({ client }: Registry, ctx: Context<Schemas["AddressChangeGetParams"]>): Promise<Schemas["AddressChange"]> {
  assertPurpose(ctx, READ_PURPOSES.addressChange, "civil-registry.address-change.get");
  const { changeNo } = ctx.params;
  const answer = await client.call({ method: "GET", path: `/registry/v2/address-changes/${changeNo}`, ctx, retry: true });
  return fromAddressChangeRead(client, answer, changeNo);
}
