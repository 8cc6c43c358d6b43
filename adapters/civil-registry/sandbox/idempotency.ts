/** Requests with an Idempotency-Key, in the registry's schema and error format (platform/sandbox/idempotency.ts). */
import type http from "node:http";
import { idempotencyKeyOf as keyOf } from "../../../platform/sandbox/http";
import { idempotency } from "../../../platform/sandbox/idempotency";
import { SCHEMA } from "./credentials";
import { REGISTRY } from "./errors";

export const idempotencyKeyOf = (headers: http.IncomingHttpHeaders) => keyOf(headers, REGISTRY);

export const idempotent = idempotency(SCHEMA, REGISTRY);
