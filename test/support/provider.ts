/**
 * A provider of the test's own for the service catalogue: a small population registry on
 * plain HTTP, with the OpenAPI document it publishes (personal data marked, the people
 * named with x-subject), and misbehaviours on demand: an answer that breaks its document,
 * one that never comes, one without end, a 5xx, a redirect (to its own /trap, which no
 * caller should reach). It records what it received.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export const PERSONS_DOCUMENT = `openapi: 3.0.3
info: { title: Population registry, version: 1.0.0 }
paths:
  /persons/{idNumber}:
    get:
      operationId: getPerson
      x-personal-data: true
      parameters:
        - { name: idNumber, in: path, required: true, x-subject: true, schema: { type: string, pattern: "^[0-9]{17}[0-9X]$" } }
        - { name: fields, in: query, schema: { type: string, enum: [name, all] } }
      responses:
        "200":
          description: The person
          content:
            application/json:
              schema:
                type: object
                required: [idNumber, name]
                properties: { idNumber: { type: string }, name: { type: string }, nickname: { type: string, nullable: true } }
        "404": { description: Unknown, content: { application/json: { schema: { type: object } } } }
  /persons/{idNumber}/notes:
    post:
      operationId: addNote
      x-personal-data: true
      parameters:
        - { name: idNumber, in: path, required: true, x-subject: true, schema: { type: string } }
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [text], additionalProperties: false, properties: { text: { type: string, maxLength: 200 } } }
      responses:
        "201": { description: Noted, content: { application/json: { schema: { type: object, required: [noteId], properties: { noteId: { type: integer } } } } } }
  /status:
    get:
      operationId: status
      responses:
        "200": { description: Up, content: { application/json: { schema: { type: object, required: [status], properties: { status: { type: string } } } } } }
  /misbehave/{how}:
    get:
      operationId: misbehave
      parameters:
        - { name: how, in: path, required: true, schema: { type: string, enum: [broken, hang, endless, redirect, fail] } }
      responses:
        "200": { description: Fine, content: { application/json: { schema: { type: object, required: [ok], properties: { ok: { type: boolean } } } } } }
        "302": { description: Elsewhere }
`;

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Provider {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const PEOPLE: Record<string, string> = { "110101199003074514": "Zhang Wei" };
let notes = 0;

function answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const json = (status: number, value: unknown): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  const path = (req.url ?? "/").split("?")[0]!;
  const person = /^\/persons\/([^/]+)$/.exec(path);
  if (person) return PEOPLE[person[1]!] ? json(200, { idNumber: person[1], name: PEOPLE[person[1]!] }) : json(404, { error: "unknown" });
  if (/^\/persons\/[^/]+\/notes$/.test(path)) return JSON.parse(body).text ? json(201, { noteId: ++notes }) : json(400, {});
  if (path === "/status") return json(200, { status: "up" });
  const how = /^\/misbehave\/(\w+)$/.exec(path)?.[1];
  if (how === "broken") return json(200, { ok: "yes" });
  if (how === "fail") return json(503, { error: "down" });
  // Somewhere the test can watch: the provider's own /trap, which nothing may request.
  if (how === "redirect") return void res.writeHead(302, { location: `http://${req.headers.host}/trap` }).end();
  if (how === "endless") {
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(64 * 1024, " ");
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once("drain", pump);
    };
    return pump();
  }
  if (how === "hang") return; // never answers
  json(404, {});
}

export async function startProvider(): Promise<Provider> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
