/**
 * Identifiers as X-Road and the GovStack Information Mediator write them: a member's
 * subsystem is `{instance}/{memberClass}/{memberCode}/{subsystemCode}`, a service is its
 * subsystem and `/{serviceCode}`. The directory's own service codes are reserved.
 */
import { HubError } from "../platform/errors";

const PART = /^[A-Za-z0-9._~-]{1,100}$/;

export const RESERVED_SERVICE_CODES = ["listMethods", "allowedMethods", "getOpenAPI"];

export interface SubsystemParts {
  instance: string;
  memberClass: string;
  memberCode: string;
  subsystemCode: string;
}

export interface ServiceParts extends SubsystemParts {
  serviceCode: string;
}

export const subsystemIdOf = (p: SubsystemParts) => `${p.instance}/${p.memberClass}/${p.memberCode}/${p.subsystemCode}`;
export const serviceIdOf = (p: ServiceParts) => `${subsystemIdOf(p)}/${p.serviceCode}`;

function parts(id: string, count: number, what: string): string[] {
  const list = id.split("/");
  if (list.length !== count || !list.every((p) => PART.test(p)))
    throw new HubError("HUB_ERR_REQUEST_INVALID", `"${id}" is not a ${what}: ${count} parts of letters, digits and . _ ~ -, joined by /`);
  return list;
}

export function parseSubsystemId(id: string): SubsystemParts {
  const [instance, memberClass, memberCode, subsystemCode] = parts(id, 4, "subsystem id (instance/memberClass/memberCode/subsystemCode)");
  return { instance: instance!, memberClass: memberClass!, memberCode: memberCode!, subsystemCode: subsystemCode! };
}

export function parseServiceId(id: string): ServiceParts {
  const list = parts(id, 5, "service id (instance/memberClass/memberCode/subsystemCode/serviceCode)");
  const serviceCode = list[4]!;
  if (RESERVED_SERVICE_CODES.includes(serviceCode)) throw new HubError("HUB_ERR_REQUEST_INVALID", `${serviceCode} is the directory's, not a service code`);
  return { ...parseSubsystemId(list.slice(0, 4).join("/")), serviceCode };
}
