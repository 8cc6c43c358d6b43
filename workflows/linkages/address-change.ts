/**
 * A household's address change as the linkages it starts take it (resident-relocation,
 * address-change-notification). The event carries its number only, so the linkage reads the
 * change from the civil registry (`civil-registry.address-change.get`, audited, for the
 * linkage's purpose) as its first step. Linkages started before events carried references
 * only have the whole change in their input, and use it: their histories replay unchanged.
 */
import { proxyActivities } from "@temporalio/workflow";
import type { civilRegistryActivities } from "../activities/civil-registry";
import type { components } from "../../contracts/generated/types";
import type { Steps } from "./steps";
import { REGISTRY_CALLS } from "./retry-policies";

type Schemas = components["schemas"];
type AddressChange = Schemas["AddressChange"];

/** The change by reference (as its event carries it), or whole (an input recorded before). */
export type ChangeInput = Schemas["HouseholdAddressChangedEvent"] & Partial<Pick<AddressChange, "idNumbers" | "names" | "address">>;

const registry = proxyActivities<ReturnType<typeof civilRegistryActivities>>(REGISTRY_CALLS);

/** The whole change: from the input when it is there, else read from the registry by its number (step `read-change`). */
export async function theChange(input: ChangeInput, steps: Steps, purpose: Schemas["DataPurpose"]): Promise<AddressChange> {
  const { changeNo, effectiveAt, idNumbers, names, address } = input;
  if (idNumbers && names && address) return { changeNo, idNumbers, names, address, effectiveAt };
  return steps.run("read-change", () => registry.readAddressChange({ changeNo, purpose }));
}
