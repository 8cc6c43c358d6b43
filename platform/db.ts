/**
 * The one database handle every service uses: PostgreSQL when DATABASE_URL is set,
 * else embedded PGlite (one connection inside this process, see docs/configuration.md, "Embedded mode").
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** Runs fn in one transaction: everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openDb(opts: { url?: string; pgliteDir: string }): Promise<Db> {
  return opts.url ? openPostgres(opts.url) : openPglite(opts.pgliteDir);
}

function openPostgres(url: string): Db {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle client losing its server (a restart) must not crash the process.
  pool.on("error", () => {});
  return {
    kind: "postgres",
    async query(sql, params) {
      return (await pool.query(sql, params)).rows;
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      // A connection lost mid-transaction fails the query in flight; the event must not crash the process.
      const ignore = () => {};
      client.on("error", ignore);
      try {
        await client.query("BEGIN");
        const result = await fn({
          query: async (sql, params) => (await client.query(sql, params)).rows,
          exec: async (sql) => void (await client.query(sql)),
        });
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.off("error", ignore);
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dir: string): Promise<Db> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(dir);
  return {
    kind: "pglite",
    async query(sql, params) {
      return (await db.query(sql, params)).rows as never[];
    },
    async exec(sql) {
      await db.exec(sql);
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async (sql, params) => (await tx.query(sql, params)).rows as never[],
          exec: async (sql) => void (await tx.exec(sql)),
        }),
      ),
    close: () => db.close(),
  };
}

/**
 * Applies the numbered `.sql` files in `dir` that `schema` has not seen yet, in order, with
 * `settings` readable in them as `current_setting('<schema>.<name>')`.
 * An advisory lock serialises nodes that start at the same time; the files commit together with
 * their records, so a failed file leaves the schema as it was.
 */
export async function migrate(db: Db, schema: string, dir: string, settings: Record<string, string> = {}): Promise<string[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`linkage-hub:migrate:${schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    // Values a migration reads with current_setting('<schema>.<name>') (the hub's instance, say).
    for (const [name, value] of Object.entries(settings)) await tx.query("SELECT set_config($1, $2, true)", [`${schema}.${name}`, value]);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`)).map((r) => r.version));
    const applied: string[] = [];
    for (const file of files.filter((f) => !done.has(f))) {
      await tx.query(`SET LOCAL search_path TO ${schema}`);
      await tx.exec(fs.readFileSync(path.join(dir, file), "utf8"));
      await tx.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [file]);
      applied.push(file);
    }
    return applied;
  });
}
