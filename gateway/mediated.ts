/**
 * `/r1/{instance}/{memberClass}/{memberCode}/{subsystemCode}/{serviceCode}/{path}`, any method,
 * for any `/r1` path the contract does not document itself (the directory's are): a call to a
 * catalogue service, checked and forwarded by catalogue/mediation.ts. One pattern finds the
 * service id; the service's own route index finds the operation.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseServiceId, serviceIdOf } from "../catalogue/identifiers";
import { HubError } from "../platform/errors";
import { requestHashOf } from "./access";
import { readRawBody } from "./body";
import { fail, type Gateway } from "./pipeline";
import { stateOf } from "./request-state";

/** A mediated call's body may be larger than the hub's own operations take. */
export const MEDIATED_MAX_BODY_BYTES = 1024 * 1024;

const R1 = /^\/r1\/([^/?]+\/[^/?]+\/[^/?]+\/[^/?]+\/[^/?]+)([^?]*)(?:\?(.*))?$/;

export const mediate = (gw: Gateway) => (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
  const state = stateOf(req);
  if (state.operation || !req.url?.startsWith("/r1/")) return next();
  state.label = "catalogue.call";
  void (async () => {
    const [, rawId, path = "", query = ""] = R1.exec(req.url!) ?? [];
    if (!rawId) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", "A call is /r1/{instance}/{memberClass}/{memberCode}/{subsystemCode}/{serviceCode}/{path}");
    const serviceId = serviceIdOf(parseServiceId(decoded(rawId)));
    const body = await readRawBody(req, MEDIATED_MAX_BODY_BYTES);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]));
    const requestHash = await requestHashOf(req);
    const answer = await gw.mediation.mediate({
      ...{ serviceId, method: req.method!, path, query, headers, body, requestId: state.id, requestHash },
      identified: (partnerId) => void (state.partnerId = partnerId),
    });
    res.writeHead(answer.status, { ...answer.headers, "request-hash": requestHash, "content-length": String(answer.body.length) });
    res.end(req.method === "HEAD" ? undefined : answer.body);
  })().catch((err) => fail(gw)(req, res, err));
};

/** The service id as written, percent-decoded; malformed percent-encoding is the caller's mistake (400), not the hub's. */
function decoded(rawId: string): string {
  try {
    return decodeURIComponent(rawId);
  } catch {
    throw new HubError("HUB_ERR_REQUEST_INVALID", "The service id is not valid percent-encoding");
  }
}
