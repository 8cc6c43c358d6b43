/**
 * `npm run bench:permits`: an event permit from the organiser's application to the permit
 * issued with its key place open, both agencies' sandboxes answering at once, beside a no-op
 * workflow of the same shape measured in the same run. Figures are reported, never asserted.
 */
import { burst, printFigures, sequential, type Attempt, type Figures } from "./measure";
import { noopWorkflows } from "./noop-workflows";
import { runBenchmark, say, wholeOption } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";

const HELP = `Usage: npm run bench:permits [-- options]

Times event permits (the sandbox's City Stadium, VEN-0001: both reviews approve at once)
from POST /v1/linkages/event-permits until the linkage's status shows the permit ISSUED with
its key place OPEN, polling every 5 ms as an organiser would; and a no-op workflow of the
same shape (two reviews in parallel, the venue's capacity held, the key place opened),
started on Temporal directly. Each permit has hours of its own, so none shares the venue's
capacity; every permit is cancelled at the end (its key place closed, its capacity freed).
  --sequential N   permits one after another for p50/p95 (default 50)
  --burst N        permits applied for at once for throughput (default 100)
  --json           print the figures as JSON
Starts its own stack: ${BENCH_PORTS},
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.`;

interface Options {
  sequential: number;
  burst: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { sequential: 50, burst: 100, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--sequential" || arg === "--burst") opts[arg === "--burst" ? "burst" : "sequential"] = wholeOption(arg.slice(2), argv[++i], 1, 2000);
    else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

interface Status {
  status: string;
  permit?: { status?: string; keyPlace?: { status?: string } };
}

const HOUR_MS = 3_600_000;

/** Permit applications with hours of their own (two hours each, a day from now onwards), and their linkages, to cancel. */
function permits(stack: BenchStack) {
  const headers = { ...stack.auth, "data-purpose": "event-safety", "content-type": "application/json" };
  const firstStart = Math.ceil((Date.now() + 24 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  const started: string[] = [];
  let n = 0;
  const apply: Attempt = async () => {
    const i = n++;
    const start = firstStart + i * 3 * HOUR_MS;
    const t0 = performance.now();
    const res = await fetch(`${stack.api}/v1/linkages/event-permits`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        applicationNo: `BENCH-${stack.run}-${i}`,
        eventName: `Bench concert ${i}`,
        venueId: "VEN-0001",
        start: new Date(start).toISOString(),
        end: new Date(start + 2 * HOUR_MS).toISOString(),
        expectedAttendance: 20_000,
        organiser: { name: "Bench Organiser", email: "bench@events.example" },
        securityPlan: `https://docs.events.example/plans/bench-${i}.pdf`,
      }),
    });
    await res.arrayBuffer();
    if (res.status !== 202) return { ms: performance.now() - t0, ok: false };
    const url = stack.api + res.headers.get("location");
    started.push(url);
    for (;;) {
      const body = (await (await fetch(url, { headers: stack.auth })).json()) as Status;
      if (body.permit?.status === "ISSUED" && body.permit.keyPlace?.status === "OPEN") return { ms: performance.now() - t0, ok: true };
      if (body.status !== "RUNNING") return { ms: performance.now() - t0, ok: false };
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Every permit applied for, cancelled; the number the hub did not take the cancellation of. */
  const cancelAll = async () => {
    let refused = 0;
    for (const url of started) {
      const res = await fetch(`${url}/cancellation`, { method: "POST", headers: stack.auth });
      await res.arrayBuffer();
      if (res.status !== 202) refused++;
    }
    return refused;
  };
  return { apply, cancelAll };
}

interface Result {
  permit: { sequential: Figures; burst: Figures };
  noop: { sequential: Figures; burst: Figures };
  ratio: number;
  notCancelled: number;
}

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  const { apply, cancelAll } = permits(stack);
  const noop = await noopWorkflows(stack, "noopPermit");
  try {
    say("warming up (3 permits, 3 no-op workflows)");
    for (let i = 0; i < 3; i++) await apply();
    for (let i = 0; i < 3; i++) await noop.attempt();
    const permit = { sequential: await sequential("event permit", opts.sequential, apply, say), burst: await burst("event permit", opts.burst, apply, say) };
    const noops = {
      sequential: await sequential("no-op workflow", opts.sequential, noop.attempt, say),
      burst: await burst("no-op workflow", opts.burst, noop.attempt, say),
    };
    say("cancelling every permit applied for");
    const notCancelled = await cancelAll();
    const ratio = Math.round((permit.sequential.p50Ms / noops.sequential.p50Ms) * 100) / 100;
    return { permit, noop: noops, ratio, notCancelled };
  } finally {
    await noop.stop();
  }
}

function report(result: Result, opts: Options): void {
  printFigures([
    ["event permit, one at a time", result.permit.sequential],
    [`event permit, ${opts.burst} at once`, result.permit.burst],
    ["no-op workflow, one at a time", result.noop.sequential],
    [`no-op workflow, ${opts.burst} at once`, result.noop.burst],
  ]);
  console.log(`\napplication to permit: median ${result.permit.sequential.p50Ms} ms, ${result.ratio}x the no-op workflow's`);
  console.log(`cancelled at the end: all but ${result.notCancelled}`);
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report,
  succeeded: (r) => r.permit.burst.failed + r.permit.sequential.failed + r.notCancelled === 0,
});
