/** Every linkage workflow, as the worker's bundle sees them. */
export { eidIssuance } from "./eid-issuance";
export { marriageRegistration } from "./marriage-registration";
