/** The scopes and purposes partners may be granted: the contract's, nothing written twice. */
import { openapi } from "../contracts";
import type { components } from "../contracts/generated/types";

type Flows = { flows: { clientCredentials: { scopes: Record<string, string> } } };
const schemes = (openapi.components as { securitySchemes: Record<string, Flows> }).securitySchemes;

export const SCOPES: readonly string[] = Object.keys(schemes.partnerToken!.flows.clientCredentials.scopes);
export type Purpose = components["schemas"]["DataPurpose"];
export const PURPOSES: readonly Purpose[] = (openapi.components as { schemas: Record<string, { enum: Purpose[] }> }).schemas.DataPurpose!.enum;
