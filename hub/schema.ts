/**
 * The hub's own database schema (`hub`): the numbered files in hub/migrations/, applied by every
 * node at start-up and by the tools that open the database themselves (CLI, tests, bench).
 */
import path from "node:path";
import { loadConfig } from "../platform/config";
import { migrate, type Db } from "../platform/db";

export const HUB_MIGRATIONS = path.join(__dirname, "migrations");

/** Brings the `hub` schema up to date; returns the files applied now. Migrations read the hub's instance (`HUB_INSTANCE`). */
export const migrateHub = (db: Db, instance = loadConfig().instance) => migrate(db, "hub", HUB_MIGRATIONS, { instance });
