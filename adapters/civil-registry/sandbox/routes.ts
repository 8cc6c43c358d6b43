/**
 * The registry's API (`/registry/v2/...`), in its own JSON format: each route reads its
 * request through format.ts, hands it to store.ts, and names the malformed answers fault
 * injection may send in its place. Besides, the endpoints outside fault injection: the JWKS
 * and the test endpoints under `/_sandbox/`.
 */
import type { Db } from "../../../platform/db";
import type { Endpoints, Route } from "../../../sandbox-kit/server";
import {
  addressChangeOf,
  AgencyError,
  applicantsOf,
  checkedCitizenNo,
  citizensRequestOf,
  eidRequestOf,
  idempotencyKeyOf,
  personCheckOf,
  revocationReasonOf,
} from "./format";
import {
  changeAddress,
  createCitizens,
  eidStatus,
  findAddressChange,
  findEid,
  findMarriage,
  findPerson,
  issueEid,
  maritalStatus,
  personMatches,
  publicJwks,
  registerMarriage,
  revokeEid,
  rotateSigningKey,
} from "./store";

const eidNotFound = () => new AgencyError(404, "EID_NOT_FOUND", "no e-ID with this number");

const personCheck = (db: Db): Route => ({
  method: "POST",
  pattern: /^\/registry\/v2\/person-checks$/,
  successStatus: 200,
  malformed: [{ checkResult: 42 }, { result: "CONSISTENT" }, { checkResult: "PROBABLY" }],
  async handle(req) {
    const { citizenNo, fullName } = personCheckOf(await req.object());
    return { status: 200, body: { checkResult: (await personMatches(db, citizenNo, fullName)) ? "CONSISTENT" : "INCONSISTENT" } };
  },
});

/** The e-ID routes; `issuer` names the registry in the credentials it signs. */
const eidRoutes = (db: Db, issuer: () => string): Route[] => [
  {
    method: "POST",
    pattern: /^\/registry\/v2\/eids$/,
    successStatus: 201,
    malformed: [{ eidNo: 12345, status: "ACTIVE" }, { eidNo: null, credential: "not-a-jws" }, {}],
    async handle(req) {
      const idempotencyKey = idempotencyKeyOf(req.headers);
      const citizenNo = eidRequestOf(await req.object());
      return issueEid(db, { issuer: issuer() }, idempotencyKey, citizenNo);
    },
  },
  {
    method: "GET",
    pattern: /^\/registry\/v2\/eids\/([^/]{1,100})$/,
    successStatus: 200,
    malformed: [{ eidNo: null, credential: 42 }, { record: {} }],
    async handle(req) {
      const record = await findEid(db, req.params[0]!);
      if (!record) throw eidNotFound();
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
      if (!status) throw eidNotFound();
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
      const reason = revocationReasonOf(await req.object());
      return revokeEid(db, idempotencyKey, req.params[0]!, reason);
    },
  },
];

const civilStatusRoutes = (db: Db): Route[] => [
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
      return registerMarriage(db, idempotencyKey, applicantsOf(await req.object()));
    },
  },
  {
    method: "POST",
    pattern: /^\/registry\/v2\/address-changes$/,
    successStatus: 201,
    malformed: [{ changeNo: 5 }, { changeNo: "AC", citizenNos: "all" }, {}],
    async handle(req) {
      const idempotencyKey = idempotencyKeyOf(req.headers);
      const { citizenNos, address } = addressChangeOf(await req.object());
      return changeAddress(db, idempotencyKey, citizenNos, address);
    },
  },
];

/** Reads by the references the hub's events carry: a person, a marriage, an address change. */
const referenceRoutes = (db: Db): Route[] => [
  {
    method: "GET",
    pattern: /^\/registry\/v2\/persons\/([^/]{1,100})$/,
    successStatus: 200,
    malformed: [{ citizenNo: 1, fullName: "" }, { fullName: null }, {}],
    async handle(req) {
      return { status: 200, body: await findPerson(db, checkedCitizenNo(req.params[0])) };
    },
  },
  {
    method: "GET",
    pattern: /^\/registry\/v2\/marriages\/([^/]{1,100})$/,
    successStatus: 200,
    malformed: [{ registrationNo: 1 }, { registrationNo: "MR", spouses: [] }, {}],
    async handle(req) {
      return { status: 200, body: await findMarriage(db, req.params[0]!) };
    },
  },
  {
    method: "GET",
    pattern: /^\/registry\/v2\/address-changes\/([^/]{1,100})$/,
    successStatus: 200,
    malformed: [{ changeNo: 5 }, { changeNo: "AC", citizenNos: "all" }, {}],
    async handle(req) {
      return { status: 200, body: await findAddressChange(db, req.params[0]!) };
    },
  },
];

export function registryRoutes(db: Db, issuer: () => string): Route[] {
  return [personCheck(db), ...eidRoutes(db, issuer), ...civilStatusRoutes(db), ...referenceRoutes(db)];
}

/** The JWKS any agency verifies e-IDs with, and the test endpoints: fresh citizens, a key rotation. */
export function registryEndpoints(db: Db): Endpoints {
  return {
    "GET /.well-known/jwks.json": async () => ({ status: 200, body: await publicJwks(db), headers: { "cache-control": "max-age=300" } }),
    "POST /_sandbox/citizens": async (req) => {
      const { count, ages } = citizensRequestOf(await req.object());
      return { status: 201, body: await createCitizens(db, count, ages) };
    },
    // A new key signs from now on; retired keys stay in the JWKS.
    "POST /_sandbox/keys/rotate": async () => ({ status: 201, body: await rotateSigningKey(db) }),
  };
}
