/**
 * Quota leases: a gateway takes a lease of L tokens from a partner's shared window in one
 * database write and admits from it in memory, so a request costs no write of its own. The
 * window's count (hub.quota_window, shared by every gateway) only ever grants what it has
 * left, so no more than the quota is admitted across gateways; what other gateways still hold
 * unspent when the window runs dry is at most (gateways − 1) × L, the most it under-admits.
 */

/** The window's count, shared by every gateway (partners/quota.ts keeps it in the database). */
export interface QuotaStore {
  /**
   * Takes up to `want` tokens of the partner's window, never beyond `limit` in all, atomically:
   * the tokens granted, and what the window has left unleased after them.
   */
  lease(partnerId: string, windowStart: number, want: number, limit: number): Promise<{ granted: number; left: number }>;
  /** Gives back tokens leased and not spent. */
  giveBack(partnerId: string, windowStart: number, tokens: number): Promise<void>;
}

export interface QuotaState {
  limit: number;
  /**
   * What the window has left as this gateway knows it: the tokens nobody had leased at its
   * last lease write plus its own unspent ones. Other gateways' unspent tokens count as used,
   * so it never promises more than there is; it falls by one with each request admitted here.
   */
  remaining: number;
  /** Seconds until the window renews. */
  resetS: number;
  windowS: number;
  admitted: boolean;
}

/** Tokens per lease: a twentieth of the quota, so a window takes about 20 writes per gateway; 1 to 50. */
export const leaseSize = (quota: number): number => Math.max(1, Math.min(50, Math.floor(quota / 20)));

/** The start (epoch seconds) of the fixed window `nowMs` falls in. */
export const windowStartOf = (nowMs: number, windowS: number): number => Math.floor(nowMs / 1000 / windowS) * windowS;

interface Lease {
  partnerId: string;
  limit: number;
  windowS: number;
  start: number;
  /** Leased to this gateway, not yet spent. */
  held: number;
  /** The window's tokens nobody had leased, at this gateway's last lease write. */
  left: number;
  /** The last write left the window nothing unleased: it has none left for this gateway. */
  dry: boolean;
  /** The tokens its predecessor in the same window gives back, landed before this lease takes any. */
  after?: Promise<void>;
  /** The lease write in flight, which every request finding the lease empty waits for. */
  refill?: Promise<void>;
  timer?: NodeJS.Timeout;
  retired: boolean;
}

export class QuotaLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly returning = new Set<Promise<void>>();

  constructor(
    private readonly store: QuotaStore,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes one request from the partner's quota: admitted from the lease held, or from a new one. */
  async take(partnerId: string, limit: number, windowS: number): Promise<QuotaState> {
    for (;;) {
      const now = this.clock();
      const lease = this.current(partnerId, limit, windowS, now);
      if (lease.held > 0) {
        lease.held--;
        return stateOf(lease, now, true);
      }
      if (lease.dry) return stateOf(lease, now, false);
      await (lease.refill ??= this.refill(lease));
    }
  }

  /** Gives back every unspent token (the gateway stops): the windows still open can admit them elsewhere. */
  async close(): Promise<void> {
    for (const lease of [...this.leases.values()]) void this.retire(lease);
    await Promise.all(this.returning);
  }

  /**
   * The partner's lease for this window and quota. A lease taken under another quota or window
   * length (the partner was changed, and its cached row dropped on `access.changed`) is retired
   * at the first request that sees the change, so a changed quota applies from then on.
   */
  private current(partnerId: string, limit: number, windowS: number, now: number): Lease {
    const start = windowStartOf(now, windowS);
    const held = this.leases.get(partnerId);
    if (held && held.start === start && held.limit === limit && held.windowS === windowS) return held;
    const after = held && this.retire(held);
    const lease: Lease = { partnerId, limit, windowS, start, held: 0, left: limit, dry: false, retired: false };
    if (held?.start === start) lease.after = after;
    lease.timer = setTimeout(() => this.retire(lease), (start + windowS) * 1000 - now).unref();
    this.leases.set(partnerId, lease);
    return lease;
  }

  private async refill(lease: Lease): Promise<void> {
    try {
      await lease.after;
      const want = leaseSize(lease.limit);
      const { granted, left } = await this.store.lease(lease.partnerId, lease.start, want, lease.limit);
      // Retired while the write was on its way: its tokens go back with the rest.
      if (lease.retired) return void this.giveBack(lease, granted);
      lease.held += granted;
      lease.left = left;
      lease.dry = granted < want || left === 0;
    } finally {
      lease.refill = undefined;
    }
  }

  /**
   * Ends a lease and gives back what it did not spend. At the window's end that changes no
   * admission (the next window has a count of its own), but it keeps the stored count the
   * requests actually admitted, for whoever reads hub.quota_window; within the window (a quota
   * changed, the gateway stops) the tokens can still be admitted by another gateway.
   */
  private retire(lease: Lease): Promise<void> {
    if (lease.retired) return Promise.resolve();
    lease.retired = true;
    clearTimeout(lease.timer);
    if (this.leases.get(lease.partnerId) === lease) this.leases.delete(lease.partnerId);
    const given = this.giveBack(lease, lease.held);
    lease.held = 0;
    return given;
  }

  /** Never fails (a failure is reported): what is not given back only understates what the window can still admit. */
  private giveBack(lease: Lease, tokens: number): Promise<void> {
    if (tokens <= 0) return Promise.resolve();
    const given: Promise<void> = this.store
      .giveBack(lease.partnerId, lease.start, tokens)
      .catch(this.onError)
      .finally(() => this.returning.delete(given));
    this.returning.add(given);
    return given;
  }
}

function stateOf(lease: Lease, now: number, admitted: boolean): QuotaState {
  return {
    limit: lease.limit,
    remaining: lease.left + lease.held,
    resetS: Math.max(1, Math.ceil(lease.start + lease.windowS - now / 1000)),
    windowS: lease.windowS,
    admitted,
  };
}
