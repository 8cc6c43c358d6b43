/**
 * CloudEvents 1.0 envelopes for every hub event, checked against the contract: the
 * envelope's own schema, then `data` against the schema the event catalogue (`x-events`
 * in contracts/openapi.yaml) names for its type.
 */
import { randomUUID } from "node:crypto";
import { ajv, contractSchema, EVENT_TYPES, violations, type ContractViolation } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { eventContractFailed } from "../validator";
import { HubError } from "../errors";

export type CloudEvent = components["schemas"]["CloudEvent"];

const envelopeSchema = ajv.getSchema((contractSchema("CloudEvent") as { $ref: string }).$ref)!;

export interface EventContext {
  /** The service that owns the fact, e.g. `civil-registry`. */
  source: string;
  subject?: string;
  requestId?: string | null;
  partnerId?: string | null;
  linkageId?: string;
  /** A stable id makes a repeated publish of the same fact a duplicate (de-duplicated). */
  id?: string;
  time?: Date;
}

export function createEvent(type: string, data: object, ctx: EventContext): CloudEvent {
  const event: CloudEvent = {
    specversion: "1.0",
    id: ctx.id ?? randomUUID(),
    source: `/linkage-hub/${ctx.source}`,
    type,
    time: (ctx.time ?? new Date()).toISOString(),
    datacontenttype: "application/json",
    data: data as Record<string, unknown>,
  };
  if (ctx.subject) event.subject = ctx.subject;
  if (ctx.requestId) event.requestid = ctx.requestId;
  if (ctx.partnerId) event.partnerid = ctx.partnerId;
  if (ctx.linkageId) event.linkageid = ctx.linkageId;
  return event;
}

/** What is wrong with an event, or an empty list. */
export function eventViolations(event: unknown): ContractViolation[] {
  if (!envelopeSchema(event)) return violations("event", envelopeSchema.errors);
  const { type, data } = event as CloudEvent;
  const schemaName = EVENT_TYPES[type];
  if (!schemaName) return [{ in: "event", pointer: "/type", detail: `no event type ${type} in the contract's catalogue` }];
  const validate = ajv.getSchema((contractSchema(schemaName) as { $ref: string }).$ref)!;
  return validate(data) ? [] : violations("event", validate.errors).map((v) => ({ ...v, pointer: "/data" + v.pointer }));
}

export function assertValidEvent(event: unknown): asserts event is CloudEvent {
  const errors = eventViolations(event);
  if (errors.length) eventContractFailed((event as CloudEvent)?.type, "publish");
  if (errors.length) throw new HubError("HUB_ERR_EVENT_INVALID", `Event ${(event as CloudEvent)?.type} does not match its contract`, { errors });
}

/** The NATS subject an event travels on. */
export const subjectOf = (type: string) => `events.${type}`;
