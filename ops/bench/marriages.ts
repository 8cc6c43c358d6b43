/** Marriage linkages over REST as a partner runs them, for the benchmarks that time them. */
import type { SeededCitizen } from "../seed-citizens";
import type { Attempt } from "./measure";
import type { BenchStack } from "./stack";

/** Couples of a man and a woman, fresh from the test-data tool (unmarried, no e-ID). */
export function couples(citizens: SeededCitizen[]): [SeededCitizen, SeededCitizen][] {
  const men = citizens.filter((c) => c.sex === "MALE");
  const women = citizens.filter((c) => c.sex === "FEMALE");
  return men.slice(0, women.length).map((m, i) => [m, women[i]!]);
}

/** One marriage linkage over REST: start, then poll its status until it ends. */
export function marriages(stack: BenchStack, pairs: [SeededCitizen, SeededCitizen][]) {
  let n = 0;
  return (pollMs: number): Attempt =>
    async () => {
      const [him, her] = pairs[n++]!;
      const t0 = performance.now();
      const res = await fetch(`${stack.api}/v1/linkages/marriages`, {
        method: "POST",
        headers: { ...stack.auth, "content-type": "application/json" },
        body: JSON.stringify({ applicationNo: `BENCH-${stack.run}-${n}`, applicants: [him, her].map((p) => ({ idNumber: p.idNumber, name: p.name })) }),
      });
      if (res.status !== 202) return { ms: performance.now() - t0, ok: false };
      const url = stack.api + res.headers.get("location");
      for (;;) {
        const body = (await (await fetch(url, { headers: stack.auth })).json()) as { status: string };
        if (body.status !== "RUNNING") return { ms: performance.now() - t0, ok: body.status === "COMPLETED" };
        await new Promise((r) => setTimeout(r, pollMs));
      }
    };
}

/** Starts one marriage linkage and gives its status URL (the linkage the polling partner reads). */
export async function startOneLinkage(stack: BenchStack, [him, her]: [SeededCitizen, SeededCitizen], tag: string): Promise<string> {
  const res = await fetch(`${stack.api}/v1/linkages/marriages`, {
    method: "POST",
    headers: { ...stack.auth, "content-type": "application/json" },
    body: JSON.stringify({ applicationNo: `BENCH-${stack.run}-${tag}`, applicants: [him, her].map((p) => ({ idNumber: p.idNumber, name: p.name })) }),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`starting a marriage linkage answered ${res.status}`);
  return stack.api + res.headers.get("location");
}
