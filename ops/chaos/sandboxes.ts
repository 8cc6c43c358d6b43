/**
 * Test data in a running hub's sandboxes: fresh citizens from the civil registry, and premises
 * with utility accounts (gas, power and water) in the utilities sandbox, each at a street of
 * the caller's naming so that nothing else is supplied there.
 */
import type { Premise } from "./alerts";

export interface SandboxCitizen {
  citizenNo: string;
  fullName: string;
  address: Record<string, string>;
}

async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
}

/** `count` fresh synthetic citizens (1 to 1000) of the civil-registry sandbox at `registryUrl`. */
export async function sandboxCitizens(registryUrl: string, count: number): Promise<SandboxCitizen[]> {
  const res = await postJson(`${registryUrl}/_sandbox/citizens`, { count });
  if (res.status !== 201) throw new Error(`seeding citizens: ${res.status} ${await res.text()}`);
  return (await res.json()) as SandboxCitizen[];
}

/** A premise per holder, at the holder's address but on the street `streetOf(i)`, each holding gas, power and water. */
export async function openPremises(utilitiesUrl: string, holders: SandboxCitizen[], streetOf: (i: number) => string): Promise<Premise[]> {
  const addresses: Record<string, string>[] = holders.map((h, i) => ({ ...h.address, street: streetOf(i) }));
  const res = await postJson(`${utilitiesUrl}/_sandbox/accounts`, {
    holders: holders.map((h, i) => ({ idNumber: h.citizenNo, name: h.fullName, address: addresses[i] })),
  });
  if (res.status !== 201) throw new Error(`opening utility accounts: ${res.status} ${await res.text()}`);
  return addresses.map((a) => ({ street: a.street!, postcode: a.postcode! }));
}
