/**
 * What the NATS service's endpoints take and answer (nats-service.ts): a success is the JSON
 * REST would send; a failure is the RFC 9457 problem REST would send, with the services API's
 * error headers (`Nats-Service-Error`: its title, `Nats-Service-Error-Code`: its status).
 */
import type { Logger } from "moleculer";
import { problemOf } from "./exchange";

/** A request as an endpoint's answer function takes it. */
export interface NatsRequest {
  data: Uint8Array;
  /** Lower-case names; a repeated header's first value. */
  headers: Record<string, string | undefined>;
  requestId: string;
}

export interface NatsAnswer {
  /** The HTTP status REST would send (for a mediated call, the provider's): counted and logged. */
  status: number;
  /** Set for a failure: the problem's title (`Nats-Service-Error`). */
  error?: string;
  /** Besides `X-Request-Id`, which every answer carries. */
  headers: Record<string, string>;
  body: Uint8Array;
  partner?: string;
  linkageId?: string;
}

export const jsonBytes = (value: unknown) => Buffer.from(JSON.stringify(value) ?? "null");

/** Any error as the problem REST would answer, `instance` being the REST path it stands for. */
export function problemAnswer(err: unknown, instance: string, requestId: string, logger: Logger, headers: Record<string, string> = {}): NatsAnswer {
  const { problem, headers: refusal } = problemOf(err, instance, requestId, logger);
  return { status: problem.status, error: problem.title, headers: { ...headers, ...refusal }, body: jsonBytes(problem) };
}
