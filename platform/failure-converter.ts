/**
 * Failures' messages and stack traces moved into an encoded payload, so the codec encrypts them
 * too (an agency's refusal may name a person). Loaded by path: the workflow bundle imports it.
 */
import { DefaultFailureConverter } from "@temporalio/common";

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
