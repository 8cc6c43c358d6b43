/**
 * Changes to who may call what (partners, catalogue services, access rights) are broadcast to
 * every node of the namespace, which drops what it cached of them: a change takes effect on
 * every gateway within the second, without a restart.
 */
import type { Context } from "moleculer";

export const ACCESS_CHANGED = "access.changed";

/** The change's result, once every node has been told. */
export async function announced<T>(ctx: Context, change: Promise<T>): Promise<T> {
  const result = await change;
  await ctx.broadcast(ACCESS_CHANGED);
  return result;
}
