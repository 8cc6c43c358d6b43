/**
 * What a linkage shows outside its workflow: search attributes (so ops can list cases with
 * `temporal workflow list --query 'LinkageType="eid-issuance" AND LinkageStatus="RUNNING"'`)
 * and the progress memo (so status is answered from the workflow's description, with or
 * without a running worker). Shared by workflow code and the `linkages` service.
 */
import { defineSearchAttributeKey, SearchAttributeType } from "@temporalio/common";
import type { components } from "../../contracts/generated/types";

export const LINKAGE_TYPE = defineSearchAttributeKey("LinkageType", SearchAttributeType.KEYWORD);
export const LINKAGE_PARTNER = defineSearchAttributeKey("LinkagePartner", SearchAttributeType.KEYWORD);
export const LINKAGE_STATUS = defineSearchAttributeKey("LinkageStatus", SearchAttributeType.KEYWORD);

/** For registering them: `temporal server start-dev --search-attribute Name=Keyword`, or the operator API. */
export const SEARCH_ATTRIBUTES = [LINKAGE_TYPE, LINKAGE_PARTNER, LINKAGE_STATUS].map((k) => k.name);

export interface Progress {
  currentStep: string | null;
  stepsDone: string[];
  /** Where each call to a catalogue service stands, for linkages that make them (address-change-notification). */
  serviceCalls?: components["schemas"]["LinkageServiceCall"][];
  /** An event permit application and its permit (event-permit). */
  permit?: components["schemas"]["EventPermit"];
}

/** The LinkageStatus search attribute: RUNNING, a waiting state, or how the linkage ended. */
export type SearchStatus = "RUNNING" | "ESCALATED" | "AWAITING_ALL_CLEAR" | "AWAITING_DOCUMENT" | "ISSUED" | "COMPLETED" | "REFUSED" | "COMPENSATED" | "FAILED";

/** What every linkage workflow returns: how it ended, and what it produced. */
export interface LinkageOutcome extends Progress {
  status: "COMPLETED" | "REFUSED" | "CANCELLED";
  reason?: string;
  result?: object;
}

/** The memo key holding a running linkage's progress. */
export const PROGRESS_MEMO = "progress";
