/** Utilities activities: the utilities adapter's actions, called as any hub caller would. */
import type { ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { callAction } from "./call-action";

type Schemas = components["schemas"];

export function utilitiesActivities(broker: ServiceBroker) {
  return {
    async lookupAccounts(params: Schemas["UtilityAccountLookupParams"]): Promise<Schemas["UtilityAccountList"]> {
      return callAction(broker, "utilities.account.lookup", params);
    },
    async suspendService(params: Schemas["UtilityServiceChangeParams"]): Promise<Schemas["UtilityServiceChange"]> {
      return callAction(broker, "utilities.service.suspend", params);
    },
    async restoreService(params: Schemas["UtilityServiceChangeParams"]): Promise<Schemas["UtilityServiceChange"]> {
      return callAction(broker, "utilities.service.restore", params);
    },
    async transferAccount(params: Schemas["UtilityAccountTransferParams"]): Promise<Schemas["UtilityAccountTransfer"]> {
      return callAction(broker, "utilities.account.transfer", params);
    },
  };
}
