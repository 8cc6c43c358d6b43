/** Child processes of the stack: started with their output in a log file, stopped in order. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface Managed {
  name: string;
  /** Undefined when the service was already running and is only used. */
  child?: ChildProcess;
  logFile?: string;
  stop(): Promise<void>;
}

export function tcpReachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: ChildProcess, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting${logFile ? `; see ${logFile}` : ""}`);
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} was not ready within ${timeoutMs / 1000} s${logFile ? `; see ${logFile}` : ""}`);
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
  /** Working directory; the supervisor's by default. */
  cwd?: string;
  /** Also copy the output to this stream (the hub's JSON log on the console, say). */
  echo?: NodeJS.WritableStream;
  /** Run as this user and group (a server that refuses to run as root, started by root). */
  uid?: number;
  gid?: number;
  /** The signal that asks the process to stop (SIGTERM by default; PostgreSQL's "fast" shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
}

/**
 * Starts a process in its own process group, so a Ctrl-C reaches the supervisor only and
 * the supervisor stops each service in order (the hub before what it depends on).
 */
export function spawnManaged(o: SpawnOptions): Managed {
  fs.mkdirSync(o.logDir, { recursive: true });
  const logFile = path.join(o.logDir, `${o.name}.log`);
  const log = fs.createWriteStream(logFile, { flags: "a" });
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    uid: o.uid,
    gid: o.gid,
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log, { end: false });
    if (o.echo) stream.pipe(o.echo, { end: false });
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // "close" comes once the output pipes are drained too, after "exit": a server's last lines may still be on their way.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    name: o.name,
    child,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(o.stopSignal ?? "SIGTERM");
        const graceful = await Promise.race([exited.then(() => true), sleep(20_000, false, { ref: false })]);
        if (!graceful) {
          child.kill("SIGKILL");
          await exited;
        }
      }
      // Not forever: a child of the process that outlives it may hold the pipes open.
      await Promise.race([closed, sleep(2000, undefined, { ref: false })]);
      for (const stream of [child.stdout!, child.stderr!]) stream.unpipe(log);
      log.end();
    },
  };
}

/** Stops services in the reverse of the order they started. */
export async function stopAll(services: Managed[]): Promise<void> {
  for (const s of [...services].reverse()) await s.stop();
}

/**
 * Kills `service`'s process and every process of its group with SIGKILL, as a crashed machine
 * would (no shutdown runs; a server's own children, such as PostgreSQL's backends, die with it),
 * and waits until it has exited.
 */
export async function killHard(service: Managed): Promise<void> {
  const child = service.child;
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
    await exited;
  }
  await service.stop();
}

/** Starts a process and resolves once `ready` holds; stops it again when it does not get there. */
export async function spawnReady(o: SpawnOptions, what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<Managed> {
  const service = spawnManaged(o);
  try {
    await waitFor(what, ready, timeoutMs, service.child, service.logFile);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}

/** A server that chaos may kill and the stack start again: each restart() replaces its process (child, logFile follow). */
export interface Restartable extends Managed {
  /** SIGKILL to its process group, as a crash (killHard). */
  kill(): Promise<void>;
  /** Stops it if it runs (after a kill or stop it does not), starts it again and resolves once it is ready. */
  restart(): Promise<void>;
}

/** Starts a server with `launch` (which resolves once it is ready) and returns it as Restartable. */
export async function startRestartable(name: string, launch: () => Promise<Managed>): Promise<Restartable> {
  let current = await launch();
  return {
    name,
    get child() {
      return current.child;
    },
    get logFile() {
      return current.logFile;
    },
    kill: () => killHard(current),
    async restart() {
      await current.stop();
      current = await launch();
    },
    stop: () => current.stop(),
  };
}
