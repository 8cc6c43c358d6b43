/** The fire service's routes: its registered venues, and venue inspections decided at once. */
import path from "node:path";
import type { Db } from "../../../platform/db";
import type { Dialect } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf } from "../../../sandbox-kit/http";
import { documentSchemas, ProblemError } from "../../../sandbox-kit/problem";
import { reviewDesk, type DocumentRef, type ReviewRequest } from "../../../sandbox-kit/reviews";
import type { Route } from "../../../sandbox-kit/server";
import { findVenue, listVenues } from "../../../sandbox-kit/venues";
import { fireRuling } from "./ruling";

export const AGENCY = "fire-safety";
export const SCHEMA = "fire_safety";
const ID = "(FI-[0-9A-F]{12})";

export function routes(db: Db, dialect: Dialect): Route[] {
  const schemas = documentSchemas(AGENCY, path.join(__dirname, "../openapi.yaml"));
  const desk = reviewDesk(AGENCY, SCHEMA, "FI", fireRuling);
  const reviewMalformed = [{ id: 7, decision: "APPROVED" }, { decision: "MAYBE" }, []];
  return [
    {
      method: "GET",
      pattern: /^\/venues$/,
      successStatus: 200,
      malformed: [{ venues: "all" }, { venues: [{ venueId: 1 }] }, []],
      handle: async () => ({ status: 200, body: { venues: await listVenues(db, SCHEMA) } }),
    },
    {
      method: "GET",
      pattern: /^\/venues\/([^/]+)$/,
      successStatus: 200,
      malformed: [{ venueId: null }, { capacity: "many" }],
      async handle({ params }) {
        const venue = await findVenue(db, SCHEMA, params[0]!);
        if (!venue) throw new ProblemError(AGENCY, 404, "NOT_FOUND", `no venue ${params[0]}`);
        const { officer: _, ...shown } = venue;
        return { status: 200, body: shown };
      },
    },
    {
      method: "POST",
      pattern: /^\/inspections$/,
      successStatus: 201,
      malformed: reviewMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return desk.open(db, key, schemas.read<ReviewRequest>("ReviewRequest", await req.json()));
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^/inspections/${ID}$`),
      successStatus: 200,
      malformed: reviewMalformed,
      handle: async ({ params }) => ({ status: 200, body: await desk.get(db, params[0]!) }),
    },
    {
      method: "POST",
      pattern: new RegExp(`^/inspections/${ID}/documents$`),
      successStatus: 200,
      malformed: reviewMalformed,
      async handle(req) {
        const key = idempotencyKeyOf(req.headers, dialect);
        return desk.addDocument(db, key, req.params[0]!, schemas.read<DocumentRef>("DocumentSubmission", await req.json()));
      },
    },
  ];
}
