"""A Python (nats-py) client for test/integration/nats-clients.test.ts: tries the cases given
as a JSON list on stdin and prints one JSON list of what happened to each, in the words the
test's plain nats.js client uses too (outcomes.ts): ok, error <status>, no-responders,
max-payload, timeout, permission-violation, accepted, connect-refused.

    python probe.py --server URL [--creds FILE] [--inbox-prefix P] < cases.json

A case: {"case": name, "kind": "request"|"publish"|"subscribe", "subject": ...,
"headers": {...}, "body": <JSON> | "bodyBytes": n}.
"""

import argparse
import asyncio
import json
import sys

import nats
from nats.errors import MaxPayloadError, NoRespondersError, TimeoutError

VIOLATION_WAIT_S = 1.5  # the server's -ERR for a refused publish or subscription comes asynchronously


class Probe:
    def __init__(self, args):
        self.args = args
        self.violations = []

    async def on_error(self, error):
        if "permissions violation" in str(error).lower():
            self.violations.append(str(error))

    async def connect(self):
        options = {"servers": self.args.server.split(","), "allow_reconnect": False, "error_cb": self.on_error, "max_reconnect_attempts": 0}
        if self.args.creds:
            options["user_credentials"] = self.args.creds
        if self.args.inbox_prefix:
            options["inbox_prefix"] = self.args.inbox_prefix
        return await nats.connect(**options)

    async def request(self, nc, case):
        data = b"x" * case["bodyBytes"] if "bodyBytes" in case else json.dumps(case.get("body", {})).encode()
        try:
            reply = await nc.request(case["subject"], data, timeout=10, headers=case.get("headers") or None)
        except NoRespondersError:
            return {"outcome": "no-responders"}
        except MaxPayloadError:
            return {"outcome": "max-payload"}
        except TimeoutError:
            return {"outcome": "timeout"}
        headers = reply.headers or {}
        body = json.loads(reply.data) if reply.data else None
        if "Nats-Service-Error-Code" in headers:
            return {"outcome": f"error {headers['Nats-Service-Error-Code']}", "title": headers.get("Nats-Service-Error"), "body": body}
        return {"outcome": "ok", "body": body, "headers": dict(headers)}

    async def violated(self, nc, act):
        before = len(self.violations)
        await act()
        await nc.flush()
        await asyncio.sleep(VIOLATION_WAIT_S)
        return {"outcome": "permission-violation" if len(self.violations) > before else "accepted", "detail": self.violations[before:]}

    async def run(self, cases):
        try:
            nc = await self.connect()
        except Exception as error:  # what the server or the socket said, for the test to show
            return [{"case": c["case"], "outcome": "connect-refused", "detail": f"{type(error).__name__}: {error}"} for c in cases]
        results = []
        try:
            for case in cases:
                if case["kind"] == "request":
                    result = await self.request(nc, case)
                elif case["kind"] == "publish":
                    result = await self.violated(nc, lambda: nc.publish(case["subject"], b"{}"))
                else:
                    result = await self.violated(nc, lambda: nc.subscribe(case["subject"]))
                results.append({"case": case["case"], **result})
        finally:
            await nc.close()
        return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--creds")
    parser.add_argument("--inbox-prefix")
    args = parser.parse_args()
    results = asyncio.run(Probe(args).run(json.load(sys.stdin)))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
