/**
 * The NATS server's authentication in operator mode (decentralized JWT, docs/nats-auth.md):
 * an operator, the system account SYS and the account HUB (JetStream on), loaded into the
 * server from its configuration (`resolver: MEMORY` with `resolver_preload`). A user is a
 * JWT signed by HUB's key, carrying its role's permissions, so adding one needs nothing from
 * the server; removing one revokes it in HUB's JWT, which a configuration reload applies.
 * The keys live in `state.json` (0600) under the auth directory, the users' `.creds` beside it.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { credsAuthenticator, nkeys, type ConnectionOptions } from "nats";
import { natsAuthDir } from "../../platform/nats-auth";

type KeyPair = ReturnType<typeof nkeys.createUser>;

export const NATS_ROLES = ["node", "operator", "caller", "consumer", "device"] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

export interface NatsUser {
  role: NatsRole;
  /** A device's subjects. */
  subjects?: string[];
  publicKey: string;
  /** Seconds since the epoch, as the JWT's `iat`. */
  issuedAt: number;
}

interface State {
  operator: string;
  system: string;
  hub: string;
  /** The Moleculer namespace the operator role's subjects are in. */
  namespace: string;
  users: Record<string, NatsUser>;
  /** Revoked user keys, with the time before which their JWTs are refused. */
  revoked: Record<string, number>;
}

const STATE = "state.json";
export const ACCOUNTS_FILE = "accounts.conf";
/** 80: a counting device's user is `device-<deviceId>`, with device ids of up to 64. */
const USER_NAME = /^[A-Za-z0-9_-]{1,80}$/;

const seedOf = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());
const keyPair = (seed: string) => nkeys.fromSeed(new TextEncoder().encode(seed));

export function base32(bytes: Buffer): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A NATS JWT (nats-io/jwt v2): JWS with alg `ed25519-nkey`, signed by `issuer`'s nkey; `jti`
 * is the base32 SHA-512/256 of the claims with an empty `jti`, as the Go library makes it.
 */
export function encodeJwt(issuer: KeyPair, sub: string, name: string, nats: object, iat = Math.floor(Date.now() / 1000)): string {
  const claims = { jti: "", iat, iss: issuer.getPublicKey(), name, sub, nats };
  claims.jti = base32(crypto.createHash("sha512-256").update(JSON.stringify(claims)).digest());
  const signingInput = `${Buffer.from(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = issuer.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${Buffer.from(signature).toString("base64url")}`;
}

/** The standard `.creds` layout every NATS client reads. */
export function credsText(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------

*************************************************************
`;
}

const EVERYTHING = { subs: -1, data: -1, payload: -1 };

/** What a role may publish and subscribe to; `undefined` lists mean everything. */
export function rolePermissions(role: NatsRole, name: string, namespace: string, subjects: string[] = []): { pub?: string[]; sub?: string[] } {
  const inbox = `_INBOX_${name}.>`;
  switch (role) {
    case "node":
      return {};
    case "operator": {
      // The CLI: a Moleculer node of the namespace and an event-bus client (JetStream API, replays).
      const all = [namespace ? `MOL-${namespace}.>` : "MOL.>", "$JS.>", "events.>", "replay.>", "dead.>", "hub.v1.>", "$SRV.>", "_INBOX.>"];
      return { pub: all, sub: all };
    }
    case "caller":
      return { pub: ["hub.v1.>", "$SRV.>"], sub: [inbox] };
    case "consumer": {
      // Reads only: its own durable consumer `<name>` on EVENTS (create, info, next, ack), and
      // its own dead letters (dead.<name>.>, the DEAD_LETTERS stream), as docs/events.md says to.
      const api = "$JS.API";
      const own = `EVENTS.${name}`;
      return {
        pub: [
          `${api}.INFO`,
          `${api}.STREAM.INFO.EVENTS`,
          `${api}.CONSUMER.INFO.${own}`,
          `${api}.CONSUMER.CREATE.${own}`,
          `${api}.CONSUMER.CREATE.${own}.>`,
          `${api}.CONSUMER.DURABLE.CREATE.${own}`,
          `${api}.CONSUMER.MSG.NEXT.${own}`,
          `$JS.ACK.${own}.>`,
          `dead.${name}.>`,
        ],
        sub: [inbox],
      };
    }
    case "device":
      return { pub: subjects, sub: [inbox] };
  }
}

function userJwt(hub: KeyPair, name: string, user: NatsUser, namespace: string): string {
  const { pub, sub } = rolePermissions(user.role, name, namespace, user.subjects);
  const nats = { pub: pub ? { allow: pub } : {}, sub: sub ? { allow: sub } : {}, ...EVERYTHING, type: "user", version: 2 };
  return encodeJwt(hub, user.publicKey, name, nats, user.issuedAt);
}

function accountJwt(operator: KeyPair, account: KeyPair, name: string, jetstream: boolean, revoked: Record<string, number> = {}): string {
  const limits = { ...EVERYTHING, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const js = jetstream ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : {};
  const nats = {
    limits: { ...limits, ...js },
    default_permissions: { pub: {}, sub: {} },
    ...(Object.keys(revoked).length ? { revocations: revoked } : {}),
    type: "account",
    version: 2,
  };
  return encodeJwt(operator, account.getPublicKey(), name, nats);
}

/** The operator, accounts and users of one NATS server. */
export class NatsAuth {
  private constructor(
    readonly dir: string,
    private state: State,
  ) {}

  /** Opens the material in `dir`, creating the operator and accounts the first time. */
  static open(dir: string, namespace = "linkage-hub"): NatsAuth {
    const file = path.join(dir, STATE);
    if (fs.existsSync(file)) return new NatsAuth(dir, JSON.parse(fs.readFileSync(file, "utf8")) as State);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const state: State = {
      operator: seedOf(nkeys.createOperator()),
      system: seedOf(nkeys.createAccount()),
      hub: seedOf(nkeys.createAccount()),
      namespace,
      users: {},
      revoked: {},
    };
    const auth = new NatsAuth(dir, state);
    auth.save();
    return auth;
  }

  static exists(dir: string): boolean {
    return fs.existsSync(path.join(dir, STATE));
  }

  get hubAccount(): string {
    return keyPair(this.state.hub).getPublicKey();
  }

  users(): Record<string, NatsUser> {
    return { ...this.state.users };
  }

  credsPath(name: string): string {
    return path.join(this.dir, `${name}.creds`);
  }

  /** Makes (or remakes) user `name` and writes its `.creds` (0600); returns the file's path. */
  addUser(name: string, role: NatsRole, subjects: string[] = []): string {
    return this.addUsers([{ name, role, subjects }])[0]!;
  }

  /**
   * Makes (or remakes) several users, saving the state once (a counting device each, by the
   * thousand); returns their `.creds` files' paths, in order. Checks them all before making any.
   */
  addUsers(list: { name: string; role: NatsRole; subjects?: string[] }[]): string[] {
    for (const { name, role, subjects = [] } of list) {
      if (!USER_NAME.test(name)) throw new Error(`user name "${name}" must be 1 to 80 of letters, digits, _ and -`);
      if (!NATS_ROLES.includes(role)) throw new Error(`unknown role "${role}"; known: ${NATS_ROLES.join(", ")}`);
      if (role === "device" && subjects.length === 0) throw new Error("a device needs --subjects (the subjects it may publish on)");
      if (role !== "device" && subjects.length) throw new Error("--subjects is for devices only");
    }
    const hub = keyPair(this.state.hub);
    const made = list.map(({ name, role, subjects = [] }) => {
      const userKey = nkeys.createUser();
      const user: NatsUser = { role, publicKey: userKey.getPublicKey(), issuedAt: Math.floor(Date.now() / 1000), ...(subjects.length ? { subjects } : {}) };
      const previous = this.state.users[name];
      // A remade user's old credentials stop working: its old key is revoked.
      if (previous) this.state.revoked[previous.publicKey] = user.issuedAt + 1;
      this.state.users[name] = user;
      return { name, user, seed: seedOf(userKey) };
    });
    this.save();
    return made.map(({ name, user, seed }) => {
      const file = this.credsPath(name);
      fs.rmSync(file, { force: true });
      fs.writeFileSync(file, credsText(userJwt(hub, name, user, this.state.namespace), seed), { mode: 0o600 });
      return file;
    });
  }

  /** Revokes users (as removeUser), saving the state once; names without a user are skipped. Answers those removed. */
  removeUsers(names: string[]): string[] {
    const removed = names.filter((n) => this.state.users[n]);
    for (const name of removed) {
      this.state.revoked[this.state.users[name]!.publicKey] = Math.floor(Date.now() / 1000) + 1;
      delete this.state.users[name];
    }
    if (removed.length) this.save();
    for (const name of removed) fs.rmSync(this.credsPath(name), { force: true });
    return removed;
  }

  /** Revokes user `name` (in HUB's JWT: the server refuses it after a reload) and deletes its `.creds`. */
  removeUser(name: string): void {
    const user = this.state.users[name];
    if (!user) throw new Error(`no NATS user "${name}"`);
    this.state.revoked[user.publicKey] = Math.floor(Date.now() / 1000) + 1;
    delete this.state.users[name];
    this.save();
    fs.rmSync(this.credsPath(name), { force: true });
  }

  /** Writes the server configuration's part for this operator and its accounts (included by nats.conf). */
  writeAccounts(): string {
    const file = path.join(this.dir, ACCOUNTS_FILE);
    fs.writeFileSync(file, this.serverConfig(), { mode: 0o600 });
    return file;
  }

  /** The server configuration's lines for this operator and its accounts. */
  serverConfig(): string {
    const operator = keyPair(this.state.operator);
    const system = keyPair(this.state.system);
    const hub = keyPair(this.state.hub);
    const operatorFile = path.join(this.dir, "operator.jwt");
    // Written once: the server cannot reload a changed operator, only its accounts.
    if (!fs.existsSync(operatorFile))
      fs.writeFileSync(
        operatorFile,
        encodeJwt(operator, operator.getPublicKey(), "linkage-hub", { system_account: system.getPublicKey(), type: "operator", version: 2 }),
      );
    return [
      `operator: ${JSON.stringify(operatorFile)}`,
      `system_account: ${system.getPublicKey()}`,
      "resolver: MEMORY",
      "resolver_preload: {",
      `  ${system.getPublicKey()}: ${JSON.stringify(accountJwt(operator, system, "SYS", false))}`,
      `  ${hub.getPublicKey()}: ${JSON.stringify(accountJwt(operator, hub, "HUB", true, this.state.revoked))}`,
      "}",
      "",
    ].join("\n");
  }

  /** A user of the system account (for the server's advisories), written as `system.creds`. */
  systemCreds(): string {
    const file = path.join(this.dir, "system.creds");
    if (fs.existsSync(file)) return file;
    const user = nkeys.createUser();
    const jwt = encodeJwt(keyPair(this.state.system), user.getPublicKey(), "system", { pub: {}, sub: {}, ...EVERYTHING, type: "user", version: 2 });
    fs.writeFileSync(file, credsText(jwt, seedOf(user)), { mode: 0o600 });
    return file;
  }

  private save(): void {
    const file = path.join(this.dir, STATE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
}

/**
 * A plain NATS client as an internal caller of the stack in `dataDir` (tests, benchmarks): the
 * user `name` made now with the caller role, its `.creds`, and the inbox prefix it must use.
 */
export function callerOptions(dataDir: string, name: string): Pick<ConnectionOptions, "authenticator" | "inboxPrefix"> {
  const creds = NatsAuth.open(natsAuthDir(dataDir)).addUser(name, "caller");
  return { authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(creds))), inboxPrefix: `_INBOX_${name}` };
}
