/**
 * The built-in agencies as the catalogue names them: each agency is a provider subsystem
 * `{instance}/GOV/{agency}/hub`, and each of its operations in the contract is one of its
 * services, coded as the operationId without the agency (`civil-registry.identity.verify` is
 * `{instance}/GOV/civil-registry/hub/identity.verify`). The hub's drone flight reports are
 * listed the same way (`{instance}/GOV/flights/hub/reports.submit`), so the catalogue counts
 * their calls and shows their completion rate; no adapter probes them, so they show no
 * availability.
 */
export const BUILTIN_AGENCIES = ["civil-registry", "emergency", "utilities", "flights"] as const;
export type BuiltinAgency = (typeof BUILTIN_AGENCIES)[number];

/** The agency serving an operation, or undefined when the hub itself does (linkages, the catalogue, …). */
export function agencyOf(operationId: string): BuiltinAgency | undefined {
  const agency = operationId.slice(0, operationId.indexOf("."));
  return (BUILTIN_AGENCIES as readonly string[]).includes(agency) ? (agency as BuiltinAgency) : undefined;
}

export const builtinSubsystemId = (instance: string, agency: BuiltinAgency) => `${instance}/GOV/${agency}/hub`;

/** The catalogue service an agency's operation is, or undefined for the hub's own operations. */
export function builtinServiceId(instance: string, operationId: string): string | undefined {
  const agency = agencyOf(operationId);
  return agency && `${builtinSubsystemId(instance, agency)}/${operationId.slice(agency.length + 1)}`;
}

/** Whether a subsystem (`{instance}/GOV/{agency}/hub`, any instance) is one of the built-in agencies': its services come from the contract. */
export function isBuiltinSubsystem(p: { memberClass: string; memberCode: string; subsystemCode: string }): boolean {
  return p.memberClass === "GOV" && p.subsystemCode === "hub" && (BUILTIN_AGENCIES as readonly string[]).includes(p.memberCode);
}
