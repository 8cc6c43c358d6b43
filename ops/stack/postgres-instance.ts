/**
 * A PostgreSQL instance of the stack's own (the production-shaped cluster's, issue 23): a data
 * folder made with initdb and one postmaster on 127.0.0.1, which chaos may stop, kill and start
 * again without touching the machine's own clusters. The hub and the Temporal server connect as
 * the role linkage_hub; the instance's superuser is reached only through its Unix socket, which
 * sits in the data folder (mode 0700: only its owner and root get in).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { MissingPieceError, onPath } from "./provision";
import { spawnReady, startRestartable, type Restartable } from "./processes";

export const PG_ROLE = "linkage_hub";
const PG_PASSWORD = "linkage_hub";
const SUPERUSER = "postgres";

/**
 * restart() is a fast shutdown (open sessions are ended), then a start on the same data; it
 * resolves once the instance accepts connections. kill() takes the postmaster and its backends
 * down with SIGKILL; restart() then starts it with crash recovery.
 */
export interface PostgresInstance extends Restartable {
  port: number;
  /** The URL of `database` as the role linkage_hub. */
  url(database: string): string;
}

export interface PostgresInstanceOptions {
  /** The data folder: made with initdb when it holds no PG_VERSION. */
  dir: string;
  port: number;
  logDir: string;
  say: (line: string) => void;
}

/** The folder of PostgreSQL's server binaries: initdb's on PATH, else Debian's newest /usr/lib/postgresql/<n>/bin. */
export function postgresBinDir(): string {
  const found = onPath("initdb");
  if (found) return path.dirname(found);
  const root = "/usr/lib/postgresql";
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new MissingPieceError("PostgreSQL's server binaries (initdb, postgres) are not installed (Debian: apt-get install postgresql)");
  return path.join(root, newest, "bin");
}

/** Who runs the server: PostgreSQL refuses to run as root, so under root it is the `postgres` user; else this user. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, SUPERUSER], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new MissingPieceError(`running as root, PostgreSQL needs a user named ${SUPERUSER} to run as (Debian's postgresql package makes it)`);
  }
}

/** Throws, saying which, when a folder above `dir` is one the server's user may not enter (a 0700 home or temp folder, under root). */
function checkReachable(dir: string, user: { uid?: number; gid?: number }): void {
  if (user.uid === undefined) return;
  for (let above = path.dirname(path.resolve(dir)); ; above = path.dirname(above)) {
    const st = fs.statSync(above, { throwIfNoEntry: false });
    const enters = !st || st.mode & 0o001 || (st.uid === user.uid && st.mode & 0o100) || (st.gid === user.gid && st.mode & 0o010);
    if (!enters)
      throw new MissingPieceError(
        `PostgreSQL runs as the ${SUPERUSER} user, who may not enter ${above}: set HUB_DATA_DIR to a folder it can reach (under /tmp, say), or chmod o+x ${above}`,
      );
    if (above === path.dirname(above)) return;
  }
}

/** Makes the data folder with initdb, owned by the server's user. Local (socket) logins are trusted: the socket is in the 0700 folder. */
function initdb(bin: string, dir: string, user: { uid?: number; gid?: number }): void {
  checkReachable(dir, user);
  // The parents with the usual mode (a recursive mkdir would give them 0700 too, shutting the server's user out).
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
  const args = ["-D", dir, "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"];
  try {
    execFileSync(path.join(bin, "initdb"), args, { ...user, cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new MissingPieceError(`initdb of ${dir} failed: ${stderr || (err as Error).message}`);
  }
}

/** Runs `body` on the instance's superuser session, through the socket in the data folder. */
async function asSuperuser<T>(dir: string, port: number, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: dir, port, user: SUPERUSER, database: "postgres", connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The hub's role (which may create databases: the Temporal server's) and its database, when missing. */
async function ensureRole(dir: string, port: number): Promise<void> {
  await asSuperuser(dir, port, async (client) => {
    const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [PG_ROLE]);
    if (!role.rowCount) await client.query(`CREATE ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'`);
    const db = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [PG_ROLE]);
    if (!db.rowCount) await client.query(`CREATE DATABASE ${PG_ROLE} OWNER ${PG_ROLE}`);
  });
}

export async function startPostgresInstance(o: PostgresInstanceOptions): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  const user = serverUser();
  const fresh = !fs.existsSync(path.join(o.dir, "PG_VERSION"));
  if (fresh) initdb(bin, o.dir, user);
  const args = ["-D", o.dir, "-p", String(o.port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${o.dir}`];
  // Room for every node's pool (10 each) and the Temporal server's (up to 60): the default 100 is not.
  args.push("-c", "max_connections=300");
  const accepting = () => asSuperuser(o.dir, o.port, async (c) => (await c.query("SELECT 1")).rowCount === 1);
  // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every client to leave.
  const spawn = { name: "postgres", command: path.join(bin, "postgres"), args, logDir: o.logDir, cwd: "/", stopSignal: "SIGINT" as const, ...user };
  const instance = await startRestartable("postgres", () => spawnReady(spawn, `postgres on port ${o.port}`, accepting, 60_000));
  try {
    await ensureRole(o.dir, o.port);
  } catch (err) {
    await instance.stop();
    throw err;
  }
  o.say(`postgres: ${fresh ? "initialised and started" : "started"} at 127.0.0.1:${o.port} (data ${o.dir}, role ${PG_ROLE})`);
  return Object.assign(instance, { port: o.port, url: (database: string) => `postgres://${PG_ROLE}:${PG_PASSWORD}@127.0.0.1:${o.port}/${database}` });
}
