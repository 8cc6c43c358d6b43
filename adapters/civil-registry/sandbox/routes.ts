/**
 * The registry's API (`/registry/v2/...`), in its own JSON format: each route reads and
 * checks its request, hands it to registry.ts or civil-status.ts, and names the malformed
 * answers fault injection may send in its place.
 */
import { isResidentId } from "../../../contracts/formats";
import type { Db } from "../../../platform/db";
import type { Route } from "../../../sandbox-kit/server";
import { isRegistryAddress, MAX_HOUSEHOLD, type RegistryAddress } from "../agency-format";
import { changeAddress, maritalStatus, registerMarriage, type Applicant } from "./civil-status";
import { AgencyError } from "./errors";
import { idempotencyKeyOf } from "./idempotency";
import { eidStatus, findEid, issueEid, personMatches, revokeEid } from "./registry";
import { fields, invalid } from "./request";

function checkedCitizenNo(value: unknown, name = "citizenNo"): string {
  if (typeof value !== "string" || !isResidentId(value)) throw invalid(`${name} must be an 18-character resident identity number with a valid check character`);
  return value;
}

const citizenNoOf = (body: Record<string, unknown>) => checkedCitizenNo(body.citizenNo);

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function applicantOf(value: unknown, i: number): Applicant {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`applicants[${i}] must be an object`);
  const a = value as Record<string, unknown>;
  fields(a, { citizenNo: "string", eidCredential: "string" });
  const eidCredential = a.eidCredential as string;
  if (eidCredential.length > 8192 || !COMPACT_JWS.test(eidCredential)) throw invalid(`applicants[${i}].eidCredential must be a compact JWS`);
  return { citizenNo: checkedCitizenNo(a.citizenNo, `applicants[${i}].citizenNo`), eidCredential };
}

export function registryRoutes(db: Db, issuer: () => string): Route[] {
  return [
    {
      method: "POST",
      pattern: /^\/registry\/v2\/person-checks$/,
      successStatus: 200,
      malformed: [{ checkResult: 42 }, { result: "CONSISTENT" }, { checkResult: "PROBABLY" }],
      async handle(req) {
        const body = await req.object();
        fields(body, { citizenNo: "string", fullName: "string" });
        const citizenNo = citizenNoOf(body);
        const fullName = (body.fullName as string).trim();
        if (fullName.length === 0 || fullName.length > 100) throw invalid("fullName must be 1 to 100 characters");
        return { status: 200, body: { checkResult: (await personMatches(db, citizenNo, fullName)) ? "CONSISTENT" : "INCONSISTENT" } };
      },
    },
    {
      method: "POST",
      pattern: /^\/registry\/v2\/eids$/,
      successStatus: 201,
      malformed: [{ eidNo: 12345, status: "ACTIVE" }, { eidNo: null, credential: "not-a-jws" }, {}],
      async handle(req) {
        const idempotencyKey = idempotencyKeyOf(req.headers);
        const body = await req.object();
        fields(body, { citizenNo: "string" });
        return issueEid(db, { issuer: issuer() }, idempotencyKey, citizenNoOf(body));
      },
    },
    {
      method: "GET",
      pattern: /^\/registry\/v2\/eids\/([^/]{1,100})$/,
      successStatus: 200,
      malformed: [{ eidNo: null, credential: 42 }, { record: {} }],
      async handle(req) {
        const record = await findEid(db, req.params[0]!);
        if (!record) throw new AgencyError(404, "EID_NOT_FOUND", "no e-ID with this number");
        return { status: 200, body: record };
      },
    },
    {
      method: "GET",
      pattern: /^\/registry\/v2\/eids\/([^/]{1,100})\/status$/,
      successStatus: 200,
      malformed: [{ eidNo: "EID", status: "VALID" }, { status: null }, []],
      async handle(req) {
        const status = await eidStatus(db, req.params[0]!);
        if (!status) throw new AgencyError(404, "EID_NOT_FOUND", "no e-ID with this number");
        return { status: 200, body: status };
      },
    },
    {
      method: "POST",
      pattern: /^\/registry\/v2\/eids\/([^/]{1,100})\/revocation$/,
      successStatus: 200,
      malformed: [{ eidNo: 7, status: "REVOKED" }, { revoked: true }, { status: "ACTIVE" }],
      async handle(req) {
        const idempotencyKey = idempotencyKeyOf(req.headers);
        const body = await req.object();
        fields(body, {}, { reason: "string" });
        const reason = body.reason as string | undefined;
        if (reason !== undefined && (reason.length === 0 || reason.length > 200)) throw invalid("reason must be 1 to 200 characters");
        return revokeEid(db, idempotencyKey, req.params[0]!, reason);
      },
    },
    {
      method: "GET",
      pattern: /^\/registry\/v2\/persons\/([^/]{1,100})\/marital-status$/,
      successStatus: 200,
      malformed: [{ maritalStatus: "COMPLICATED" }, { citizenNo: 1 }, {}],
      async handle(req) {
        return { status: 200, body: await maritalStatus(db, checkedCitizenNo(req.params[0])) };
      },
    },
    {
      method: "POST",
      pattern: /^\/registry\/v2\/marriages$/,
      successStatus: 201,
      malformed: [{ registrationNo: 1 }, { registrationNo: "MR", spouses: [] }, {}],
      async handle(req) {
        const idempotencyKey = idempotencyKeyOf(req.headers);
        const body = await req.object();
        fields(body, { applicants: "object" });
        const list = body.applicants;
        if (!Array.isArray(list) || list.length !== 2) throw invalid("applicants must list exactly two people");
        return registerMarriage(db, idempotencyKey, [applicantOf(list[0], 0), applicantOf(list[1], 1)]);
      },
    },
    {
      method: "POST",
      pattern: /^\/registry\/v2\/address-changes$/,
      successStatus: 201,
      malformed: [{ changeNo: 5 }, { changeNo: "AC", citizenNos: "all" }, {}],
      async handle(req) {
        const idempotencyKey = idempotencyKeyOf(req.headers);
        const body = await req.object();
        fields(body, { citizenNos: "object", address: "object" });
        const list = body.citizenNos;
        if (!Array.isArray(list) || list.length < 1 || list.length > MAX_HOUSEHOLD) throw invalid(`citizenNos must list 1 to ${MAX_HOUSEHOLD} citizens`);
        const citizenNos = list.map((c, i) => checkedCitizenNo(c, `citizenNos[${i}]`));
        if (!isRegistryAddress(body.address))
          throw invalid("address must have province, city, district, street (1 to 100 characters each) and a 6-digit postcode, nothing else");
        return changeAddress(db, idempotencyKey, citizenNos, body.address as RegistryAddress);
      },
    },
  ];
}
