/** A sandbox's database before it serves: its schema migrated, its seed data in place. */
import type { Db } from "../platform/db";
import { migrate } from "../platform/db";

/** Migrates `schema` from `migrationsDir`, then seeds; says how many rows were seeded and how long it took. */
export async function prepareDb(db: Db, schema: string, migrationsDir: string, seed: () => Promise<number>): Promise<{ seeded: number; seedMs: number }> {
  await migrate(db, schema, migrationsDir);
  const start = performance.now();
  const seeded = await seed();
  return { seeded, seedMs: Math.round(performance.now() - start) };
}
