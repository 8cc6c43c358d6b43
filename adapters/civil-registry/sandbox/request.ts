/** Checking requests in the registry's JSON format. */
import { invalid as invalidIn } from "../../../sandbox-kit/errors";
import { REGISTRY } from "./errors";

export const invalid = (message: string) => invalidIn(REGISTRY, message);

/** Checks a JSON object's fields: `required` and `optional` map names to their typeof; others are refused. */
export function fields(body: Record<string, unknown>, required: Record<string, string>, optional: Record<string, string> = {}): void {
  for (const key of Object.keys(body)) if (!(key in required) && !(key in optional)) throw invalid(`unknown field "${key}"`);
  for (const key of Object.keys(required)) if (!(key in body)) throw invalid(`missing field "${key}"`);
  for (const [key, type] of Object.entries({ ...required, ...optional }))
    if (key in body && typeof body[key] !== type) throw invalid(`field "${key}" must be a ${type}`);
}
