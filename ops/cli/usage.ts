/** What every command of the CLI shares: its usage errors, options, subcommands and output. */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake in how a command was called: exit code 2 and the command's usage. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | undefined>;

/** The subcommand's options (with --json and --help); a mistake is a usage error showing `help`. */
export function parseOptions(help: string, args: string[], options: Options): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
}

/**
 * The subcommand called, with its options and arguments; undefined when help was asked for
 * (and printed). `help[""]` is the command's own usage, `help[sub]` each subcommand's.
 */
export function subcommand(
  args: string[],
  help: Record<string, string>,
  options: Record<string, Options>,
): { sub: string; values: Values; positionals: string[] } | undefined {
  const [sub = "", ...rest] = args;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log(help[""]);
    if (!sub) throw new UsageError("");
    return undefined;
  }
  if (!(sub in options)) throw new UsageError(`Unknown subcommand "${sub}".\n\n${help[""]}`);
  const { values, positionals } = parseOptions(help[sub]!, rest, options[sub]!);
  if (values.help) return void console.log(help[sub]);
  return { sub, values, positionals };
}

/** Prints `json` with --json, else `text`. */
export const printer = (json: boolean) => (value: unknown, text: string) => console.log(json ? JSON.stringify(value, null, 2) : text);

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
