/** Requests with an Idempotency-Key, in the registry's schema and error format (platform/sandbox/idempotency.ts). */
import type http from "node:http";
import { idempotencyKeyOf as keyOf } from "../../../sandbox-kit/http";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { SCHEMA } from "./credentials";
import { REGISTRY } from "./errors";

export const idempotencyKeyOf = (headers: http.IncomingHttpHeaders) => keyOf(headers, REGISTRY);

export const idempotent = idempotency(SCHEMA, REGISTRY);
