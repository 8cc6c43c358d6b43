/** The civil registry adapter: the hub's contract on one side, the registry's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { agencyAction, AgencyClient, agencyService } from "../../platform/agency-client";
import { linkageIdOf } from "../../platform/call-meta";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import type { HubNode } from "../../platform/hub-node";
import { eidSignatureChecker, type SignatureCheck } from "./eid-verifier";
import {
  fromAddressChange,
  fromEidIssue,
  fromEidStatus,
  fromMaritalStatus,
  fromMarriage,
  fromPersonCheck,
  fromRevocation,
  toMarriage,
  toPersonCheck,
} from "./mapping";

type Schemas = components["schemas"];

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
  const data = { eidNo: eid.eidNo, idNumber, issuedAt: eid.issuedAt, expiresAt: eid.expiresAt };
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
  const { idNumber, ...revocation } = fromRevocation(client, answer, eidNo);
  await publish(ctx, "civil-registry.eid.revoked", { eidNo, idNumber, revokedAt: revocation.revokedAt }, eidNo, `eid-revoked:${eidNo}`);
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
  await publish(ctx, "civil-registry.marriage.registered", marriage, marriage.registrationNo, `marriage-registered:${marriage.registrationNo}`);
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
  await publish(ctx, "civil-registry.household.address-changed", change, change.changeNo, `address-changed:${change.changeNo}`);
  return change;
}
