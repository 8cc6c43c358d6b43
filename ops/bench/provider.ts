/**
 * The mediation benchmark's provider: a population registry answering from memory on plain
 * HTTP (`GET /status`, `GET /persons/{idNumber}`), with the OpenAPI document it registers in
 * the catalogue. Run as a process of its own (`node --import tsx ops/bench/provider.ts`, port
 * from BENCH_PROVIDER_PORT), so its CPU is not the hub's.
 */
import http from "node:http";
import path from "node:path";
import { spawnManaged, tcpReachable, waitFor, type Managed } from "../stack/processes";
import { loadConfig } from "../../platform/config";
import { MissingPieceError } from "../stack/provision";
import type { BenchStack } from "./stack";

export const PROVIDER_PORT = 24110;

export const BENCH_PERSON = { idNumber: "110101199003074514", name: "Zhang Wei" };

export const PROVIDER_DOCUMENT = `openapi: 3.0.3
info: { title: Bench population registry, version: 1.0.0 }
paths:
  /status:
    get:
      operationId: status
      responses:
        "200": { description: Up, content: { application/json: { schema: { type: object, required: [status], properties: { status: { type: string } } } } } }
  /persons/{idNumber}:
    get:
      operationId: getPerson
      x-personal-data: true
      parameters:
        - { name: idNumber, in: path, required: true, x-subject: true, schema: { type: string, pattern: "^[0-9]{17}[0-9X]$" } }
      responses:
        "200":
          description: The person
          content:
            application/json:
              schema: { type: object, required: [idNumber, name], properties: { idNumber: { type: string }, name: { type: string } } }
        "404": { description: Unknown, content: { application/json: { schema: { type: object } } } }
`;

const PEOPLE = new Map([[BENCH_PERSON.idNumber, BENCH_PERSON.name]]);

function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  const path = (req.url ?? "/").split("?")[0]!;
  const id = /^\/persons\/([^/]+)$/.exec(path)?.[1];
  if (req.method === "GET" && path === "/status") return void json(200, { status: "up" });
  if (req.method === "GET" && id) return void (PEOPLE.has(id) ? json(200, { idNumber: id, name: PEOPLE.get(id) }) : json(404, { error: "unknown" }));
  json(404, { error: "no such route" });
}

/** The provider, a process of its own (its CPU is not the hub's). */
export async function startProvider(dataDir: string): Promise<Managed> {
  if (await tcpReachable("127.0.0.1", PROVIDER_PORT)) throw new MissingPieceError(`port ${PROVIDER_PORT} (the bench's provider) is in use`);
  const provider = spawnManaged({
    name: "bench-provider",
    command: process.execPath,
    args: ["--import", "tsx", __filename],
    env: { BENCH_PROVIDER_PORT: String(PROVIDER_PORT) },
    logDir: path.join(dataDir, "logs"),
  });
  const up = async () => (await fetch(`http://127.0.0.1:${PROVIDER_PORT}/status`)).ok;
  await waitFor("the bench's provider", up, 30_000, provider.child, provider.logFile);
  return provider;
}

/** A service of the provider registered over REST, the bench's partner granted it; its id. */
export async function registerService(stack: BenchStack, serviceCode: string, openapi: string): Promise<string> {
  const post = (route: string, body: unknown) =>
    fetch(stack.api + route, { method: "POST", headers: { ...stack.auth, "content-type": "application/json" }, body: JSON.stringify(body) });
  const added = await post("/v1/catalogue/services", {
    instance: loadConfig({ ...process.env, ...stack.env }).instance,
    memberClass: "GOV",
    memberCode: "BENCH",
    subsystemCode: "bench-provider",
    serviceCode,
    baseUrl: `http://127.0.0.1:${PROVIDER_PORT}`,
    openapi,
  });
  if (added.status !== 201) throw new Error(`registering ${serviceCode}: ${added.status} ${await added.text()}`);
  const { id } = (await added.json()) as { id: string };
  const granted = await post("/v1/catalogue/access-grants", { client: stack.subsystem, service: id, purposes: ["identity-verification"] });
  if (granted.status !== 200) throw new Error(`granting the bench's partner ${id}: ${granted.status} ${await granted.text()}`);
  return id;
}

if (require.main === module) {
  const port = Number(process.env.BENCH_PROVIDER_PORT ?? PROVIDER_PORT);
  const server = http.createServer((req, res) => req.resume().on("end", () => answer(req, res)));
  server.keepAliveTimeout = 60_000;
  server.listen(port, "127.0.0.1");
  process.on("SIGTERM", () => (server.closeAllConnections(), server.close(() => process.exit(0))));
}
