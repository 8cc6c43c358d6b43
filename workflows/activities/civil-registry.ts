/** Civil registry activities: the civil registry adapter's actions, called as any hub caller would (call-action.ts). */
import { callAction } from "./call-action";
import type { ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];

export function civilRegistryActivities(broker: ServiceBroker) {
  return {
    async verifyIdentity(params: Schemas["IdentityVerificationRequest"]): Promise<Schemas["IdentityVerificationResult"]> {
      return callAction(broker, "civil-registry.identity.verify", params);
    },
    async issueEid(params: Schemas["EidIssueParams"]): Promise<Schemas["Eid"]> {
      return callAction(broker, "civil-registry.eid.issue", params);
    },
    async revokeEid(params: Schemas["EidRevokeParams"]): Promise<Schemas["EidRevocation"]> {
      return callAction(broker, "civil-registry.eid.revoke", params);
    },
    async maritalStatus(params: Schemas["MaritalStatusParams"]): Promise<Schemas["MaritalStatus"]> {
      return callAction(broker, "civil-registry.marital-status.get", params);
    },
    async registerMarriage(params: Schemas["MarriageRegisterParams"]): Promise<Schemas["Marriage"]> {
      return callAction(broker, "civil-registry.marriage.register", params);
    },
    async changeAddress(params: Schemas["AddressChangeParams"]): Promise<Schemas["AddressChange"]> {
      return callAction(broker, "civil-registry.household.change-address", params);
    },
    /** An address change by its number (the reference its event carries), read for the linkage's purpose. */
    async readAddressChange({
      purpose,
      ...params
    }: Schemas["AddressChangeGetParams"] & { purpose: Schemas["DataPurpose"] }): Promise<Schemas["AddressChange"]> {
      return callAction(broker, "civil-registry.address-change.get", params, purpose);
    },
  };
}
