/** How every benchmark runs: its options, its own stack, its measures, its report, and the stack stopped whatever happens. */
import { MissingPieceError } from "../stack/provision";
import { startBenchStack, type BenchStack } from "./stack";

export const say = (line: string) => console.error(`[bench] ${line}`);

/** An option's whole-number value, from `min` to `max`; throws naming the option otherwise. */
export function wholeOption(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} takes a whole number from ${min} to ${max}`);
  return n;
}

export interface Benchmark<O extends { json: boolean; pglite?: boolean }, R> {
  help: string;
  /** The options, "help", or a throw naming the mistake. */
  parse(argv: string[]): O | "help";
  measure(stack: BenchStack, opts: O): Promise<R>;
  report(result: R, opts: O): void;
  /** Whether every call measured succeeded (the exit code says so). */
  succeeded(result: R): boolean;
}

export function runBenchmark<O extends { json: boolean; pglite?: boolean }, R>(b: Benchmark<O, R>): void {
  void run(b).then((code) => process.exit(code));
}

async function run<O extends { json: boolean; pglite?: boolean }, R>(b: Benchmark<O, R>): Promise<number> {
  let opts: O | "help";
  try {
    opts = b.parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${b.help}`);
    return 2;
  }
  if (opts === "help") return (console.log(b.help), 0);
  let stack: BenchStack | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stack?.stop().then(() => process.exit(130)));
  try {
    stack = await startBenchStack(say, { pglite: opts.pglite === true });
    const result = await b.measure(stack, opts);
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else b.report(result, opts);
    return b.succeeded(result) ? 0 : 1;
  } catch (err) {
    console.error(err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    return 1;
  } finally {
    await stack?.stop();
  }
}
