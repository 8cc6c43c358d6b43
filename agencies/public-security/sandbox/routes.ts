/** The police's routes: event security reviews decided at once, key places, and units dispatched to them. */
import path from "node:path";
import type { Db } from "../../../platform/db";
import type { Dialect } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf } from "../../../sandbox-kit/http";
import { documentSchemas } from "../../../sandbox-kit/problem";
import { reviewDesk, type DocumentRef, type ReviewRequest } from "../../../sandbox-kit/reviews";
import type { Route } from "../../../sandbox-kit/server";
import { AGENCY, closeKeyPlace, getKeyPlace, listKeyPlaces, registerKeyPlace, SCHEMA, type KeyPlaceRequest } from "./key-places";
import { policeRuling } from "./ruling";
import { getDispatch, listUnits, releaseDispatch, requestDispatch, type Dispatching, type DispatchRequest } from "./dispatches";

const REVIEW = "(SR-[0-9A-F]{12})";
const PLACE = "(KP-[0-9A-Z-]{4,20})";
const DISPATCH = "(DP-[0-9A-F]{12})";

type Schemas = ReturnType<typeof documentSchemas>;

/** `dispatching`: the mode the sandbox answers dispatches in now (set at `/_sandbox/dispatching`). */
export function routes(db: Db, dialect: Dialect, dispatching: () => Dispatching): Route[] {
  const schemas = documentSchemas(AGENCY, path.join(__dirname, "../openapi.yaml"));
  return [...reviewRoutes(db, dialect, schemas), ...keyPlaceRoutes(db, dialect, schemas), ...dispatchRoutes(db, dialect, schemas, dispatching)];
}

function reviewRoutes(db: Db, dialect: Dialect, schemas: Schemas): Route[] {
  const desk = reviewDesk(AGENCY, SCHEMA, "SR", policeRuling);
  const reviewMalformed = [{ id: 7, decision: "APPROVED" }, { decision: "MAYBE" }, []];
  return [
    {
      method: "POST",
      pattern: /^\/security-reviews$/,
      successStatus: 201,
      malformed: reviewMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return desk.open(db, key, schemas.read<ReviewRequest>("ReviewRequest", await req.json()));
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^/security-reviews/${REVIEW}$`),
      successStatus: 200,
      malformed: reviewMalformed,
      handle: async ({ params }) => ({ status: 200, body: await desk.get(db, params[0]!) }),
    },
    {
      method: "POST",
      pattern: new RegExp(`^/security-reviews/${REVIEW}/documents$`),
      successStatus: 200,
      malformed: reviewMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return desk.addDocument(db, key, req.params[0]!, schemas.read<DocumentRef>("DocumentSubmission", await req.json()));
      },
    },
  ];
}

function keyPlaceRoutes(db: Db, dialect: Dialect, schemas: Schemas): Route[] {
  const placeMalformed = [{ placeId: 1 }, { status: "AJAR" }, []];
  return [
    {
      method: "GET",
      pattern: /^\/key-places$/,
      successStatus: 200,
      malformed: [{ keyPlaces: "all" }, { keyPlaces: [{ placeId: 1 }] }, []],
      handle: async ({ query }) => ({ status: 200, body: await listKeyPlaces(db, query) }),
    },
    {
      method: "POST",
      pattern: /^\/key-places$/,
      successStatus: 201,
      malformed: placeMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return registerKeyPlace(db, key, schemas.read<KeyPlaceRequest>("KeyPlaceRequest", await req.json()));
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^/key-places/${PLACE}$`),
      successStatus: 200,
      malformed: placeMalformed,
      handle: async ({ params }) => ({ status: 200, body: await getKeyPlace(db, params[0]!) }),
    },
    {
      method: "POST",
      pattern: new RegExp(`^/key-places/${PLACE}/closure$`),
      successStatus: 200,
      malformed: placeMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        const { reason } = schemas.read<{ reason?: string }>("Closure", await req.json());
        return closeKeyPlace(db, key, req.params[0]!, reason);
      },
    },
  ];
}

function dispatchRoutes(db: Db, dialect: Dialect, schemas: Schemas, dispatching: () => Dispatching): Route[] {
  const dispatchMalformed = [{ dispatchId: 1 }, { status: "MAYBE" }, []];
  return [
    {
      method: "GET",
      pattern: /^\/units$/,
      successStatus: 200,
      malformed: [{ units: "all" }, { units: [{ unitId: 1 }] }, []],
      handle: async () => ({ status: 200, body: await listUnits(db) }),
    },
    {
      method: "POST",
      pattern: /^\/dispatches$/,
      successStatus: 201,
      malformed: dispatchMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return requestDispatch(db, key, schemas.read<DispatchRequest>("DispatchRequest", await req.json()), dispatching());
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^/dispatches/${DISPATCH}$`),
      successStatus: 200,
      malformed: dispatchMalformed,
      handle: async ({ params }) => ({ status: 200, body: await getDispatch(db, params[0]!, dispatching()) }),
    },
    {
      method: "POST",
      pattern: new RegExp(`^/dispatches/${DISPATCH}/release$`),
      successStatus: 200,
      malformed: dispatchMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        const { reason } = schemas.read<{ reason?: string }>("Release", await req.json());
        return releaseDispatch(db, key, req.params[0]!, reason);
      },
    },
  ];
}
