/** The civil registry adapter: the hub's contract on one side, the registry's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { ACTION_TIMEOUT_MS, AgencyClient, agencyService } from "../../platform/agency-client";
import type { HubNode } from "../../platform/hub-node";
import { eidSignatureChecker } from "./eid-verifier";
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
import { createEvent } from "../../platform/events/envelope";
import { linkageIdOf } from "../../platform/call-meta";
import { enqueue } from "../../platform/events/outbox";

type Schemas = components["schemas"];

export function civilRegistryService(node: HubNode): ServiceSchema {
  const { civilRegistryUrl, civilRegistryTimeoutMs, civilRegistryToken } = node.config;
  const client = new AgencyClient("civil-registry", civilRegistryUrl, civilRegistryTimeoutMs, { token: civilRegistryToken });
  const checkSignature = eidSignatureChecker(client.agency, civilRegistryUrl, civilRegistryTimeoutMs, civilRegistryToken);

  /**
   * Publishes a fact the registry has confirmed, through the outbox. The event id is derived
   * from the registry's record, so a retried or repeated call yields the same id and JetStream
   * keeps one copy (within its de-duplication window).
   */
  async function publish(ctx: Context, type: string, data: object, subject: string, id: string): Promise<void> {
    const event = createEvent(type, data, { source: "civil-registry", subject, id, requestId: ctx.requestID, linkageId: linkageIdOf(ctx) });
    await node.db.transaction((tx) => enqueue(tx, event));
    node.outbox.kick();
  }

  return agencyService(client, node.config.agencyProbeMs, {
    name: "civil-registry",
    actions: {
      "identity.verify": {
        audit: (p: { idNumber: string }) => [p.idNumber],
        timeout: ACTION_TIMEOUT_MS.read,
        params: contractSchema("IdentityVerificationRequest"),
        result: contractSchema("IdentityVerificationResult"),
        async handler(ctx: Context<Schemas["IdentityVerificationRequest"]>): Promise<Schemas["IdentityVerificationResult"]> {
          const answer = await client.call({ method: "POST", path: "/registry/v2/person-checks", body: toPersonCheck(ctx.params), ctx, retry: true });
          return fromPersonCheck(client, answer);
        },
      },
      "eid.issue": {
        audit: (p: { idNumber: string }) => [p.idNumber],
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("EidIssueParams"),
        result: contractSchema("Eid"),
        async handler(ctx: Context<Schemas["EidIssueParams"]>): Promise<Schemas["Eid"]> {
          const { idNumber, idempotencyKey } = ctx.params;
          const answer = await client.call({ method: "POST", path: "/registry/v2/eids", body: { citizenNo: idNumber }, idempotencyKey, retry: true, ctx });
          const eid = fromEidIssue(client, answer, idNumber);
          const data = { eidNo: eid.eidNo, idNumber, issuedAt: eid.issuedAt, expiresAt: eid.expiresAt };
          await publish(ctx, "civil-registry.eid.issued", data, eid.eidNo, `eid-issued:${eid.eidNo}`);
          return eid;
        },
      },
      "eid.verify": {
        audit: () => [],
        timeout: ACTION_TIMEOUT_MS.read,
        params: contractSchema("EidVerificationRequest"),
        result: contractSchema("EidVerificationResult"),
        async handler(ctx: Context<Schemas["EidVerificationRequest"]>): Promise<Schemas["EidVerificationResult"]> {
          const signed = await checkSignature(ctx.params.credential);
          if (!signed.ok) return { valid: false, reason: signed.reason };
          const answer = await client.call({ method: "GET", path: `/registry/v2/eids/${encodeURIComponent(signed.eidNo)}/status`, ctx, retry: true });
          const status = fromEidStatus(client, answer, signed.eidNo);
          if (!status) return { valid: false, reason: "UNKNOWN_EID" };
          if (status.status === "REVOKED") return { valid: false, reason: "REVOKED" };
          if (Date.parse(status.expiresAt) <= Date.now()) return { valid: false, reason: "EXPIRED" };
          return { valid: true, eidNo: signed.eidNo };
        },
      },
      "eid.revoke": {
        audit: (_p: unknown, r?: { idNumber?: string }) => [r?.idNumber],
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("EidRevokeParams"),
        result: contractSchema("EidRevocation"),
        async handler(ctx: Context<Schemas["EidRevokeParams"]>): Promise<Schemas["EidRevocation"]> {
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
        },
      },
      "marital-status.get": {
        audit: (p: { idNumber: string }) => [p.idNumber],
        timeout: ACTION_TIMEOUT_MS.read,
        params: contractSchema("MaritalStatusParams"),
        result: contractSchema("MaritalStatus"),
        async handler(ctx: Context<Schemas["MaritalStatusParams"]>): Promise<Schemas["MaritalStatus"]> {
          const { idNumber } = ctx.params;
          const answer = await client.call({ method: "GET", path: `/registry/v2/persons/${idNumber}/marital-status`, ctx, retry: true });
          return fromMaritalStatus(client, answer, idNumber);
        },
      },
      "marriage.register": {
        audit: (p: { applicants: { idNumber: string }[] }) => p.applicants.map((a) => a.idNumber),
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("MarriageRegisterParams"),
        result: contractSchema("Marriage"),
        async handler(ctx: Context<Schemas["MarriageRegisterParams"]>): Promise<Schemas["Marriage"]> {
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
        },
      },
      "household.change-address": {
        audit: (p: { idNumbers: string[] }) => p.idNumbers,
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("AddressChangeParams"),
        result: contractSchema("AddressChange"),
        async handler(ctx: Context<Schemas["AddressChangeParams"]>): Promise<Schemas["AddressChange"]> {
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
        },
      },
    },
  });
}
