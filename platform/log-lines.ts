/**
 * Where a hub process's log lines go: stdout, written once per event-loop turn rather than once
 * per line. stdout is a pipe to the supervisor, and a pipe write is synchronous on Linux: one
 * write per line cost a busy gateway about a sixth of its CPU (issue 17's profile). Warnings and
 * errors go to stderr at once, after the lines before them, so a crash loses none that led to
 * it; what is pending is written on exit too. A `kill -9` can lose one turn's info lines.
 */
import { Loggers, type LoggerConfig } from "moleculer";

const LEVELS = Loggers.LEVELS as string[];
const URGENT = new Set(["fatal", "error", "warn"]);

let pending: string[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (!pending.length) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  process.stdout.write(text);
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
}

process.on("exit", flush);

/** Moleculer's Console logger with the writes batched (same formatter options). */
export class BatchedLogger extends Loggers.Formatted<Loggers.Formatted.FormattedLoggerOptions> {
  override getLogHandler(bindings: Parameters<Loggers.Formatted<never>["getLogHandler"]>[0]) {
    const level = bindings ? this.getLogLevel(bindings.mod) : null;
    if (!level) return null;
    const levelIdx = LEVELS.indexOf(level);
    const format = this.getFormatter(bindings);
    return (type: string, args: unknown[]) => {
      if (LEVELS.indexOf(type) > levelIdx) return;
      const line = format(type, args).join(" ");
      if (!URGENT.has(type)) {
        pending.push(line);
        return schedule();
      }
      flush();
      process.stderr.write(line + "\n");
    };
  }
}

/** A formatter as Moleculer calls it: with the logger's bindings (its typings leave them out). */
type Formatter = (type: string, args: unknown[], bindings: Record<string, unknown>) => string[];

/** The broker's `logger` option: the lines `formatter` makes, batched. */
export const batchedLogger = ({ formatter, level }: { formatter: Formatter; level: string }): LoggerConfig =>
  new BatchedLogger({
    formatter: formatter as Loggers.Formatted.FormatterFunction,
    level,
    colors: false,
    moduleColors: false,
  } as Loggers.Formatted.FormattedLoggerOptions) as unknown as LoggerConfig;
