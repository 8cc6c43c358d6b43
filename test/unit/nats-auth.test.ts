/** The NATS server configuration and credentials the stack writes (ops/stack/nats-server.ts, nats-auth.ts), and natsAuth's client options. */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { nkeys } from "nats";
import { natsAuth, natsCredsFile, stackCredsFile } from "../../platform/nats-auth";
import { loadConfig } from "../../platform/config";
import { base32, encodeJwt, NatsAuth, rolePermissions } from "../../ops/stack/nats-auth";
import { natsConfigText, prepareNatsServer } from "../../ops/stack/nats-server";

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>;

test("a NATS JWT is an ed25519-nkey JWS signed by its issuer, its jti the hash of its claims", () => {
  const account = nkeys.createAccount();
  const jwt = encodeJwt(account, "UABC", "someone", { type: "user", version: 2 }, 1700000000);
  const [head, body, sig] = jwt.split(".");
  assert.deepEqual(decode(head!), { typ: "JWT", alg: "ed25519-nkey" });
  const claims = decode(body!);
  assert.equal(claims.iss, account.getPublicKey());
  assert.equal(claims.iat, 1700000000);
  const digest = crypto
    .createHash("sha512-256")
    .update(JSON.stringify({ ...claims, jti: "" }))
    .digest();
  assert.equal(claims.jti, base32(digest));
  assert.equal(base32(Buffer.from("foobar")), "MZXW6YTBOI", "RFC 4648's test vector, without padding");
  assert.ok(nkeys.fromPublic(account.getPublicKey()).verify(new TextEncoder().encode(`${head}.${body}`), Buffer.from(sig!, "base64url")));
});

test("roles: a caller publishes on hub.v1.> and $SRV.> and reads its own inbox; a device only its subjects; a node everything", () => {
  assert.deepEqual(rolePermissions("caller", "billing", "linkage-hub"), { pub: ["hub.v1.>", "$SRV.>"], sub: ["_INBOX_billing.>"] });
  assert.deepEqual(rolePermissions("device", "gate-7", "linkage-hub", ["counts.p.gate-7"]), { pub: ["counts.p.gate-7"], sub: ["_INBOX_gate-7.>"] });
  assert.deepEqual(rolePermissions("node", "hub", "linkage-hub"), {});
  const consumer = rolePermissions("consumer", "mirror", "linkage-hub");
  assert.ok(consumer.pub!.every((s) => s.includes("EVENTS.mirror") || ["$JS.API.INFO", "$JS.API.STREAM.INFO.EVENTS", "dead.mirror.>"].includes(s)));
  assert.ok(rolePermissions("operator", "ops", "linkage-hub").pub!.includes("MOL-linkage-hub.>"));
});

test("the server configuration names the certificate and key when TLS is given, and includes the accounts", () => {
  const text = natsConfigText({ pidFile: "/d/nats.pid", accountsFile: "nats-auth/accounts.conf", tls: { cert: "/c/server.pem", key: "/c/server.key" } });
  assert.match(text, /max_payload: 8MB/);
  assert.match(text, /tls \{\n {2}cert_file: "\/c\/server.pem"\n {2}key_file: "\/c\/server.key"\n\}/);
  assert.match(text, /include "nats-auth\/accounts.conf"/);
  assert.doesNotMatch(natsConfigText({ pidFile: "/d/nats.pid", accountsFile: "a.conf" }), /tls/);
});

test("a cluster node's configuration names it, its cluster, its authenticated routes to the others, and the shared accounts", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-auth-unit-"));
  const nodeDir = path.join(dir, "nats-cluster/n2");
  const cluster = {
    name: "linkage-hub",
    serverName: "n2",
    listen: "127.0.0.1:4249",
    routes: ["nats-route://127.0.0.1:4248"],
    routeUser: "route",
    routePassword: "p/w",
  };
  const { configFile, credsFile } = prepareNatsServer(dir, undefined, undefined, { nodeDir, cluster });
  assert.equal(configFile, path.join(nodeDir, "nats.conf"));
  assert.equal(credsFile, stackCredsFile(dir), "every node admits the stack's one hub user");
  assert.equal(fs.statSync(configFile).mode & 0o777, 0o600, "it holds the routes' password");
  const text = fs.readFileSync(configFile, "utf8");
  assert.match(text, /server_name: "n2"/);
  assert.match(text, /cluster \{\n {2}name: "linkage-hub"\n {2}listen: "127.0.0.1:4249"\n {2}authorization \{ user: "route", password: "p\/w" \}/);
  assert.match(text, /routes: \["nats-route:\/\/route:p%2Fw@127.0.0.1:4248"\]/);
  assert.match(text, /include "..\/..\/nats-auth\/accounts.conf"/);
  assert.match(text, /pid_file: ".*n2\/nats.pid"/);
});

test("prepareNatsServer makes the operator, accounts and the hub's node user once, its .creds 0600", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-auth-unit-"));
  const first = prepareNatsServer(dir);
  const creds = fs.readFileSync(first.credsFile, "utf8");
  assert.equal(first.credsFile, stackCredsFile(dir));
  assert.equal(fs.statSync(first.credsFile).mode & 0o777, 0o600);
  assert.match(creds, /-----BEGIN NATS USER JWT-----\n.+\n------END NATS USER JWT------/);
  assert.match(creds, /-----BEGIN USER NKEY SEED-----\nSU[A-Z0-9]+\n------END USER NKEY SEED------/);
  const accounts = fs.readFileSync(path.join(dir, "nats-auth/accounts.conf"), "utf8");
  assert.match(accounts, /resolver: MEMORY/);
  assert.ok(accounts.includes(NatsAuth.open(path.join(dir, "nats-auth")).hubAccount));
  prepareNatsServer(dir);
  assert.equal(fs.readFileSync(first.credsFile, "utf8"), creds, "a second start keeps the users");
});

test("natsAuth: NATS_CREDS, else the stack's own; `none` for none; TLS options from NATS_TLS_*", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-auth-unit-"));
  assert.equal(natsCredsFile(loadConfig({ HUB_DATA_DIR: dir })), undefined);
  assert.deepEqual(natsAuth(loadConfig({ HUB_DATA_DIR: dir })), {});
  prepareNatsServer(dir);
  assert.equal(natsCredsFile(loadConfig({ HUB_DATA_DIR: dir })), stackCredsFile(dir));
  assert.equal(natsCredsFile(loadConfig({ HUB_DATA_DIR: dir, NATS_CREDS: "none" })), undefined);
  assert.throws(() => natsCredsFile(loadConfig({ NATS_CREDS: path.join(dir, "missing.creds") })), /does not exist/);
  const auth = natsAuth(loadConfig({ HUB_DATA_DIR: dir, NATS_TLS_CA: "/c/ca.pem", NATS_TLS_CERT: "/c/me.pem", NATS_TLS_KEY: "/c/me.key" }));
  assert.equal(typeof auth.authenticator, "function");
  assert.deepEqual(auth.tls, { caFile: "/c/ca.pem", certFile: "/c/me.pem", keyFile: "/c/me.key" });
});
