/** Every linkage workflow, as the worker's bundle sees them. */
export { eidIssuance } from "./eid-issuance";
export { marriageRegistration } from "./marriage-registration";
export { incidentUtilities } from "./incident-utilities";
export { residentRelocation } from "./resident-relocation";
export { addressChangeNotification } from "./address-change-notification";
export { eventPermit } from "./event-permit";
export { crowdDispatch } from "./crowd-dispatch";
