/**
 * Partner access from outside: tokens from a standard OAuth 2.0 client library, every way a
 * token or a call can be refused, purposes, other partners' linkages, quotas shared by two
 * gateway processes, and Idempotency-Key. Requests here use `rawFetch`: nothing is added.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ClientCredentials } from "simple-oauth2";
import { SignJWT, generateKeyPair, type CryptoKey as JoseKey } from "jose";
import { clusterEnv, seedCitizens, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { addPartner, disablePartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { rotateKeys, signingKey } from "../../partners/keys";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { loadConfig } from "../../platform/config";

const env = clusterEnv();
const run = randomUUID().slice(0, 8);
let hub: TestNode;
let second: TestNode;
let api: string;

interface Client {
  id: string;
  secret: string;
}

/** A partner of this file's own: all scopes and purposes unless said otherwise. */
async function partner(name: string, fields: { scopes?: string[]; purposes?: string[]; quota?: number; quotaWindowS?: number } = {}): Promise<Client> {
  const made = await addPartner(await suiteDb(), {
    id: `${name}-${run}`,
    scopes: fields.scopes ?? [...SCOPES],
    purposes: (fields.purposes ?? [...PURPOSES]) as never,
    quota: fields.quota,
    quotaWindowS: fields.quotaWindowS,
  });
  return { id: made.partner.id, secret: made.clientSecret };
}

/** A token the standard way: simple-oauth2, client_secret_basic or client_secret_post. */
async function tokenFor(client: Client, how: "header" | "body" = "header", scope?: string[]): Promise<string> {
  const oauth = new ClientCredentials({
    client: { id: client.id, secret: client.secret },
    auth: { tokenHost: api, tokenPath: "/v1/oauth/token" },
    options: { authorizationMethod: how },
  });
  const token = await oauth.getToken(scope ? { scope } : {});
  return String(token.token.access_token);
}

const call = (path: string, token: string | undefined, init: RequestInit & { purpose?: string; base?: string } = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (init.purpose) headers.set("data-purpose", init.purpose);
  if (init.body) headers.set("content-type", "application/json");
  return rawFetch((init.base ?? api) + path, { ...init, headers });
};

async function refused(res: Response, status: number, detail: RegExp): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.match(String(body.detail), detail);
  assert.equal(body.status, status);
  return body;
}

before(async () => {
  hub = await startNode("all", env);
  second = await startNode("api", env);
  api = hub.url;
});
after(async () => {
  await second?.stop();
  await hub?.stop();
});

describe("tokens", () => {
  test("a standard OAuth 2.0 client gets a token both ways, and it works against the API", async () => {
    const client = await partner("std");
    for (const how of ["header", "body"] as const) {
      const token = await tokenFor(client, how);
      const res = await call("/v1/linkages?limit=5", token);
      assert.equal(res.status, 200, await res.clone().text());
      assert.ok(res.headers.get("ratelimit"), "every answer carries the quota");
    }
    const narrow = await tokenFor(client, "header", ["linkages.read"]);
    const payload = JSON.parse(Buffer.from(narrow.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    assert.deepEqual([payload.sub, payload.client_id, payload.aud, payload.scope], [client.id, client.id, "linkage-hub", "linkages.read"]);
    assert.ok(Number(payload.exp) - Number(payload.iat) <= 300, "short-lived");
  });

  test("the token endpoint refuses as RFC 6749 says, inside a problem", async () => {
    const client = await partner("tok", { scopes: ["linkages.read"] });
    const form = (body: string, headers: Record<string, string> = {}) =>
      rawFetch(`${api}/v1/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
    const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` });
    const cases: [Response, number, string][] = [
      [await form("grant_type=client_credentials", basic(client.id, "wrong")), 401, "invalid_client"],
      [await form(`grant_type=client_credentials&client_id=${client.id}&client_secret=wrong`), 401, "invalid_client"],
      [await form("grant_type=client_credentials", basic("nobody", "x")), 401, "invalid_client"],
      [await form("grant_type=password", basic(client.id, client.secret)), 400, "unsupported_grant_type"],
      [await form("grant_type=client_credentials&scope=identity.verify", basic(client.id, client.secret)), 400, "invalid_scope"],
      [await form("scope=linkages.read", basic(client.id, client.secret)), 400, "invalid_request"],
      [
        await form(`grant_type=client_credentials&client_id=${client.id}&client_secret=${client.secret}`, basic(client.id, client.secret)),
        400,
        "invalid_request",
      ],
    ];
    for (const [res, status, error] of cases) {
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual([res.status, body.error], [status, error], JSON.stringify(body));
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.ok(body.type && body.title && body.detail && body.requestId);
    }
    assert.equal(cases[0]![0].headers.get("www-authenticate"), 'Basic realm="linkage-hub"');
  });

  test("the JWKS publishes the signing key and the next; after a rotation old tokens still work", async () => {
    const client = await partner("rot");
    const before = await tokenFor(client);
    const jwks = (await (await rawFetch(`${api}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    assert.ok(jwks.keys.length >= 2, "the next key is published before it signs");
    const { active } = await rotateKeys(await suiteDb());
    assert.ok(
      jwks.keys.some((k) => k.kid === active),
      "the key now signing was published already",
    );
    const after = await tokenFor(client);
    assert.equal(JSON.parse(Buffer.from(after.split(".")[0]!, "base64url").toString()).kid, active);
    for (const token of [before, after]) assert.equal((await call("/v1/linkages", token)).status, 200);
  });

  test("no token, expired, forged, unknown key, wrong audience or issuer, disabled partner: 401 with a challenge", async () => {
    const client = await partner("bad");
    const db = await suiteDb();
    const config = loadConfig({});
    const good = await tokenFor(client);
    // Of a partner of its own (this one's is disabled below, and a call would cache it): used
    // once while good, a gateway keeps it verified, but not past its expiry.
    const shortLived = await partner("short");
    const expired = (await issueToken(db, { ...config, tokenTtlS: 2 }, { partnerId: shortLived.id, scopes: [...SCOPES] })).access_token;
    assert.equal((await call("/v1/linkages", expired)).status, 200);
    const forged = good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA");
    const rogue = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const sign = (claims: { aud?: string; iss?: string }, key: JoseKey, kid: string) =>
      new SignJWT({ scope: SCOPES.join(" ") })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .setSubject(client.id)
        .setIssuer(claims.iss ?? config.tokenIssuer)
        .setAudience(claims.aud ?? config.tokenAudience)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(key);
    const real = await signingKey(db);
    const unknownKey = await sign({}, rogue.privateKey, "not-a-hub-key");
    const otherAudience = await sign({ aud: "someone-else" }, real.privateKey, real.kid);
    const otherIssuer = await sign({ iss: "https://elsewhere.example" }, real.privateKey, real.kid);
    await new Promise((r) => setTimeout(r, 2100));

    const none = await call("/v1/linkages", undefined);
    await refused(none, 401, /Bearer/);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="linkage-hub"');
    for (const [token, why] of [
      [expired, /expired/],
      [forged, /signature/],
      [unknownKey, /not in \/\.well-known\/jwks\.json/],
      [otherAudience, /another audience/],
      [otherIssuer, /another issuer/],
      ["not.a.jwt", /not a valid access token/],
    ] as const) {
      const res = await call("/v1/linkages", token);
      await refused(res, 401, why);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="linkage-hub", error="invalid_token"/);
    }

    await disablePartner(db, client.id);
    await new Promise((r) => setTimeout(r, 5500)); // gateways cache partners for 5 s
    await refused(await call("/v1/linkages", good), 401, /disabled/);
  });
});

describe("authorisation", () => {
  test("a missing scope is 403 insufficient_scope naming it", async () => {
    const client = await partner("scope", { scopes: ["linkages.read", "identity.verify"] });
    const token = await tokenFor(client, "header", ["linkages.read"]);
    const res = await call("/v1/identity-verifications", token, {
      method: "POST",
      purpose: "identity-verification",
      body: JSON.stringify({ idNumber: "11010519491231002X", name: "王五" }),
    });
    await refused(res, 403, /needs the scope identity\.verify/);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="insufficient_scope", scope="identity\.verify"/);
  });

  test("personal data needs a Data-Purpose granted to the partner: missing or not granted is 403 naming it", async () => {
    const client = await partner("purpose", { purposes: ["emergency-response"] });
    const token = await tokenFor(client);
    const [citizen] = await seedCitizens(1);
    const body = JSON.stringify({ idNumber: citizen!.citizenNo, name: citizen!.fullName });
    await refused(await call("/v1/identity-verifications", token, { method: "POST", body }), 403, /Data-Purpose header.*granted to .*: emergency-response/);
    await refused(
      await call("/v1/identity-verifications", token, { method: "POST", body, purpose: "civil-registration" }),
      403,
      /civil-registration is not a legal basis granted/,
    );
    const ok = await call("/v1/identity-verifications", token, { method: "POST", body, purpose: "emergency-response" });
    assert.equal(ok.status, 200, await ok.clone().text());
    // An operation without personal data needs no purpose.
    assert.equal((await call("/v1/linkages", token)).status, 200);
  });

  test("a partner sees, signals, cancels and lists only its own linkages", async () => {
    const [alice, bob] = [await partner("alice"), await partner("bob")];
    const [a, b] = [await tokenFor(alice), await tokenFor(bob)];
    const [citizen] = await seedCitizens(1);
    const started = await call("/v1/linkages/eid-issuances", a, {
      method: "POST",
      purpose: "civil-registration",
      body: JSON.stringify({ applicationNo: `OWN-${run}`, idNumber: citizen!.citizenNo, name: citizen!.fullName }),
    });
    assert.equal(started.status, 202);
    const location = started.headers.get("location")!;
    assert.equal((await call(location, a, { purpose: "civil-registration" })).status, 200);
    await refused(await call(location, b, { purpose: "civil-registration" }), 404, /No linkage/);
    await refused(await call(`${location}/signals`, b, { method: "POST", body: JSON.stringify({ signal: "all-clear" }) }), 404, /No linkage/);
    await refused(await call(`${location}/cancellation`, b, { method: "POST" }), 404, /No linkage/);
    // Bob cannot take Alice's application number either.
    await refused(
      await call("/v1/linkages/eid-issuances", b, {
        method: "POST",
        purpose: "civil-registration",
        body: JSON.stringify({ applicationNo: `OWN-${run}`, idNumber: citizen!.citizenNo, name: citizen!.fullName }),
      }),
      409,
      /another partner/,
    );

    const ids = async (token: string, query = "") => {
      for (let i = 0; i < 50; i++) {
        const page = (await (await call(`/v1/linkages${query}`, token)).json()) as { items: { id: string }[] };
        if (page.items.length || i === 49) return page.items.map((x) => x.id);
        await new Promise((r) => setTimeout(r, 100));
      }
      return [];
    };
    assert.deepEqual(await ids(a), [location.split("/").pop()]);
    assert.deepEqual(await ids(b), []);
  });

  test("the list pages with a cursor and a Link header, and filters by status", async () => {
    const client = await partner("pages");
    const token = await tokenFor(client);
    const citizens = await seedCitizens(3);
    for (const [i, c] of citizens.entries())
      await call("/v1/linkages/eid-issuances", token, {
        method: "POST",
        purpose: "civil-registration",
        body: JSON.stringify({ applicationNo: `PAGE-${run}-${i}`, idNumber: c.citizenNo, name: c.fullName }),
      });
    let seen: string[] = [];
    for (let attempt = 0; attempt < 50 && seen.length < 3; attempt++) {
      seen = [];
      let next: string | null = "/v1/linkages?limit=2&status=COMPLETED";
      while (next) {
        const res = await call(next, token);
        const page = (await res.json()) as { items: { id: string; status: string }[]; next: string | null };
        assert.ok(page.items.length <= 2);
        assert.ok(page.items.every((x) => x.status === "COMPLETED"));
        seen.push(...page.items.map((x) => x.id));
        const link = res.headers.get("link");
        assert.equal(Boolean(link), Boolean(page.next));
        next = link ? /<([^>]+)>; rel="next"/.exec(link)![1]! : null;
      }
      if (seen.length < 3) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(new Set(seen).size, 3);
    await refused(await call("/v1/linkages?cursor=bm9wZQ", token), 404, /cursor/);
    await refused(await call("/v1/linkages?status=SLEEPING", token), 400, /does not match/);
  });
});

describe("quotas", () => {
  test("two gateway processes share one quota: both admit, N admitted in all, then 429 with Retry-After", async () => {
    const N = 30;
    const client = await partner("quota", { quota: N, quotaWindowS: 3600 });
    const token = await tokenFor(client);
    // 3N requests in waves of ten at once, half to each gateway.
    const answers: { res: Response; via: number }[] = [];
    for (let wave = 0; wave < (3 * N) / 10; wave++)
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, i) => call("/v1/linkages?limit=1", token, { base: i % 2 ? second.url : api }).then((res) => ({ res, via: i % 2 }))),
        )),
      );
    const admitted = answers.filter((a) => a.res.status === 200);
    assert.equal(admitted.length, N);
    assert.ok(admitted.some((a) => a.via === 0) && admitted.some((a) => a.via === 1), "both gateways admitted some");
    const tooMany = answers.find((a) => a.res.status === 429)!.res;
    assert.ok(Number(tooMany.headers.get("retry-after")) > 0);
    assert.match(tooMany.headers.get("ratelimit-policy") ?? "", new RegExp(`^"partner";q=${N};w=3600$`));
    assert.match(tooMany.headers.get("ratelimit") ?? "", /^"partner";r=0;t=\d+$/);
    await refused(tooMany, 429, /used its 30 requests per 3600 s/);
  });
});

describe("idempotency", () => {
  const metric = async (action: string) => {
    const text = await (await rawFetch(`${api}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("moleculer_request_total{") && l.includes(`action="${action}"`));
    return line ? Number(line.split(" ").pop()) : 0;
  };

  test("the same POST sent twice at once with one Idempotency-Key runs once; both get the same answer", async () => {
    const token = await tokenFor(await partner("idem"));
    const [citizen] = await seedCitizens(1);
    const body = JSON.stringify({ idNumber: citizen!.citizenNo, name: citizen!.fullName });
    const before = await metric("civil-registry.identity.verify");
    const key = randomUUID();
    const [one, two] = await Promise.all(
      [1, 2].map(() =>
        call("/v1/identity-verifications", token, { method: "POST", purpose: "identity-verification", body, headers: { "idempotency-key": key } }),
      ),
    );
    assert.deepEqual([one!.status, two!.status], [200, 200]);
    assert.deepEqual(await one!.json(), await two!.json());
    assert.equal([one, two].filter((r) => r!.headers.get("idempotent-replayed") === "true").length, 1);
    assert.equal((await metric("civil-registry.identity.verify")) - before, 1, "the action ran once");

    const again = await call("/v1/identity-verifications", token, {
      method: "POST",
      purpose: "identity-verification",
      body,
      headers: { "idempotency-key": key },
    });
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    // Kept sealed: the stored body is ciphertext under a payload key, not the answer.
    const [kept] = await (
      await suiteDb()
    ).query<{ body: string; body_key_id: string | null }>("SELECT body, body_key_id FROM hub.idempotency_key WHERE key = $1", [key]);
    assert.match(kept!.body_key_id ?? "", /^k[0-9a-f]{8}$/);
    assert.doesNotMatch(Buffer.from(kept!.body, "base64").toString("latin1"), /match/);
    const other = await call("/v1/identity-verifications", token, {
      method: "POST",
      purpose: "identity-verification",
      body: JSON.stringify({ idNumber: citizen!.citizenNo, name: "别人" }),
      headers: { "idempotency-key": key },
    });
    await refused(other, 422, /used for another request/);
    assert.equal((await metric("civil-registry.identity.verify")) - before, 1);
  });

  test("a replayed 202 keeps its Location; keys are per partner", async () => {
    const [p, q] = [await tokenFor(await partner("idem2")), await tokenFor(await partner("idem3"))];
    const [citizen] = await seedCitizens(1);
    const key = randomUUID();
    const start = (token: string, no: string) =>
      call("/v1/linkages/eid-issuances", token, {
        method: "POST",
        purpose: "civil-registration",
        body: JSON.stringify({ applicationNo: no, idNumber: citizen!.citizenNo, name: citizen!.fullName }),
        headers: { "idempotency-key": key },
      });
    const first = await start(p, `IDEM-${run}`);
    const replay = await start(p, `IDEM-${run}`);
    assert.deepEqual([first.status, replay.status, replay.headers.get("location")], [202, 202, first.headers.get("location")]);
    const theirs = await start(q, `IDEM-Q-${run}`);
    assert.equal(theirs.status, 202);
    assert.equal(theirs.headers.get("idempotent-replayed"), null, "another partner's key space");
  });
});
