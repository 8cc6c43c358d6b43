/**
 * Reviews of an event at a venue, as the catalogue agencies decide them (public security's
 * security review, fire safety's venue inspection): a request is decided at once by the
 * agency's ruling for the venue, the documents sent so far and those sent later (each sent
 * document decides the review again). Kept in `schema`.review; one answer per
 * Idempotency-Key (sandbox-kit/idempotency.ts).
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../platform/db";
import type { Answer } from "./errors";
import { idempotency } from "./idempotency";
import { ProblemError, problemDialect } from "./problem";
import { findVenue, type Officer, type Venue } from "./venues";

export interface DocumentRef {
  name: string;
  reference: string;
}

export interface ReviewRequest {
  reference: string;
  venueId: string;
  eventName: string;
  start: string;
  end: string;
  expectedAttendance: number;
  documents: DocumentRef[];
}

export type Decision =
  | { decision: "APPROVED"; maxCapacity: number }
  | { decision: "APPROVED_WITH_CONDITIONS"; maxCapacity: number; conditions: string }
  | { decision: "REFUSED"; reasons: string[] }
  | { decision: "NEEDS_DOCUMENT"; document: string };

export type Review = { id: string; reference: string; venueId: string; officer: Officer; decidedAt: string } & Decision;

/** The agency's ruling on an event at `venue`, given the names of the documents it holds. */
export type Ruling = (venue: Venue, documents: ReadonlySet<string>) => Decision;

export interface ReviewDesk {
  open(db: Db, key: string, request: ReviewRequest): Promise<Answer>;
  get(db: Queryable, id: string): Promise<Review>;
  addDocument(db: Db, key: string, id: string, document: DocumentRef): Promise<Answer>;
}

/** The review desk of `agency`, its reviews in `schema`, their ids `<idPrefix>-` and 12 hex digits. */
export function reviewDesk(agency: string, schema: string, idPrefix: string, ruling: Ruling): ReviewDesk {
  const idempotent = idempotency(schema, problemDialect(agency));
  const notFound = (id: string) => new ProblemError(agency, 404, "NOT_FOUND", `no review ${id}`);

  const decide = async (tx: Queryable, venueId: string, documents: DocumentRef[]) => {
    const venue = await findVenue(tx, schema, venueId);
    if (!venue) throw new ProblemError(agency, 422, "UNKNOWN_VENUE", `no venue ${venueId}`, [{ pointer: "/venueId", detail: `names no venue known here` }]);
    const { officer, ...place } = venue;
    return { officer, decidedAt: new Date().toISOString(), ...ruling(place, new Set(documents.map((d) => d.name))) };
  };

  const get = async (db: Queryable, id: string): Promise<Review> => {
    const [row] = await db.query<{ review: Review }>(`SELECT review FROM ${schema}.review WHERE id = $1`, [id]);
    if (!row) throw notFound(id);
    return row.review;
  };

  return {
    get,
    open: (db, key, request) =>
      idempotent(db, key, "open", request, async (tx) => {
        if (Date.parse(request.end) <= Date.parse(request.start))
          throw new ProblemError(agency, 422, "INVALID_PERIOD", "the event ends before it starts", [{ pointer: "/end", detail: "is not after start" }]);
        const id = `${idPrefix}-${randomBytes(6).toString("hex").toUpperCase()}`;
        const review: Review = { id, reference: request.reference, venueId: request.venueId, ...(await decide(tx, request.venueId, request.documents)) };
        await tx.query(`INSERT INTO ${schema}.review (id, reference, venue_id, request, documents, review) VALUES ($1, $2, $3, $4, $5, $6)`, [
          id,
          request.reference,
          request.venueId,
          JSON.stringify(request),
          JSON.stringify(request.documents),
          JSON.stringify(review),
        ]);
        return { status: 201, body: review };
      }),
    addDocument: (db, key, id, document) =>
      idempotent(db, key, "document", { id, document }, async (tx) => {
        const [row] = await tx.query<{ documents: DocumentRef[]; review: Review }>(`SELECT documents, review FROM ${schema}.review WHERE id = $1 FOR UPDATE`, [
          id,
        ]);
        if (!row) throw notFound(id);
        const documents = [...row.documents, document];
        const { id: _, reference, venueId } = row.review;
        const review: Review = { id, reference, venueId, ...(await decide(tx, venueId, documents)) };
        await tx.query(`UPDATE ${schema}.review SET documents = $2, review = $3, updated_at = now() WHERE id = $1`, [
          id,
          JSON.stringify(documents),
          JSON.stringify(review),
        ]);
        return { status: 200, body: review };
      }),
  };
}
