/**
 * A provider that takes part in the address-change notification: a plain HTTP server whose
 * OpenAPI document marks `POST /address-changes` with `x-linkage: address-change` (personal
 * data, the people named by `idNumbers`). It fails with a 503 for its first `failFirst`
 * requests, or while `failing` is set, and records what it received.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export const ADDRESS_BOOK_DOCUMENT = (title: string) => `openapi: 3.0.3
info: { title: ${JSON.stringify(title)}, version: 1.0.0 }
paths:
  /address-changes:
    post:
      operationId: addressChanged
      x-linkage: address-change
      x-personal-data: true
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [changeNo, idNumbers, address, effectiveAt]
              properties:
                changeNo: { type: string, pattern: "^AC[0-9A-F]{16}$" }
                idNumbers: { type: array, x-subject: true, minItems: 1, items: { type: string } }
                names: { type: array, items: { type: string } }
                address:
                  type: object
                  required: [street, postcode]
                  properties: { province: { type: string }, city: { type: string }, district: { type: string }, street: { type: string }, postcode: { type: string } }
                effectiveAt: { type: string, format: date-time }
      responses:
        "202": { description: Noted, content: { application/json: { schema: { type: object, required: [noted], properties: { noted: { type: boolean } } } } } }
  /patrons:
    get:
      operationId: patrons
      responses:
        "200": { description: Patrons, content: { application/json: { schema: { type: object } } } }
`;

export interface AddressBook {
  url: string;
  /** Requests to /address-changes, in order, with their headers and parsed bodies. */
  received: { method: string; headers: http.IncomingHttpHeaders; body: unknown }[];
  /** While true, every request is answered 503. */
  failing: boolean;
  close(): Promise<void>;
}

export async function startAddressBook(opts: { failFirst?: number; failing?: boolean } = {}): Promise<AddressBook> {
  let failures = opts.failFirst ?? 0;
  const book: AddressBook = { url: "", received: [], failing: opts.failing ?? false, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      book.received.push({ method: req.method!, headers: req.headers, body: text ? JSON.parse(text) : undefined });
      const fail = book.failing || failures-- > 0;
      const [status, answer] = fail ? [503, { error: "down" }] : req.url?.startsWith("/patrons") ? [200, { patrons: [] }] : [202, { noted: true }];
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  book.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  book.close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return book;
}
