"""The hub over NATS from Python (nats-py): find the service, call an operation, read events.

    python hub_client.py find                          # $SRV.INFO linkage-hub: version, endpoints
    python hub_client.py verify <idNumber> <name>      # hub.v1.civil-registry.identity.verify
    python hub_client.py call <operationId> '<json>'   # any endpoint, e.g. call schemas '{...}'
    python hub_client.py events [--max 20] [--subject events.>]  # EVENTS as a durable consumer named as you

Environment (or the options of the same name): NATS_URL (one server, or a cluster's comma-separated), NATS_CREDS (the .creds file that
`npx linkage-hub nats add-user <name> --role caller|consumer` wrote; your user name is its
file name, so your inbox prefix is _INBOX_<name> and your durable consumer is <name>;
without credentials, NATS_USER_NAME or --name, default "example"),
HUB_URL, HUB_CLIENT_ID, HUB_CLIENT_SECRET (the partner whose OAuth token the calls carry).
Needs nats-py with its nkeys extra: pip install 'nats-py[nkeys]==2.16.0'.
"""

import argparse
import asyncio
import base64
import json
import os
import sys
import urllib.request
import uuid

import nats
from nats.errors import NoRespondersError, TimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

SERVICE = "linkage-hub"


def user_name(args):
    """The NATS user: --name, else the .creds file's name (add-user writes <name>.creds)."""
    if args.name:
        return args.name
    if args.creds:
        return os.path.basename(args.creds).removesuffix(".creds")
    return "example"


async def connect(args):
    # A user may subscribe only below its own inbox prefix: replies come there.
    options = {"servers": args.server.split(","), "name": f"hub-client-py {user_name(args)}", "allow_reconnect": False, "inbox_prefix": f"_INBOX_{user_name(args)}"}
    if args.creds:
        options["user_credentials"] = args.creds
    return await nats.connect(**options)


def partner_token(args):
    """An access token for the partner, POST /v1/oauth/token (client credentials, HTTP Basic)."""
    basic = base64.b64encode(f"{args.client_id}:{args.client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"{args.hub_url}/v1/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["access_token"]


async def find(nc, args):
    try:
        reply = await nc.request(f"$SRV.INFO.{SERVICE}", b"", timeout=5)
    except NoRespondersError:
        print(f"error service {SERVICE} not found: no responders on $SRV.INFO.{SERVICE} (is the hub running?)")
        return 3
    except TimeoutError:  # also what a publish the server refused looks like to a requester
        print(f"error no answer on $SRV.INFO.{SERVICE} within 5 s (may this user ask? see the server's permissions)")
        return 3
    info = json.loads(reply.data)
    print(f"service {info['name']} {info['version']} ({len(info['endpoints'])} endpoints)")
    for endpoint in info["endpoints"]:
        print(f"  {endpoint['subject']}  {json.dumps(endpoint.get('metadata') or {}, sort_keys=True)}")
    return 0


async def call(nc, args, operation, body):
    headers = {"X-Request-Id": str(uuid.uuid4())}
    if not args.no_token:
        headers["Authorization"] = f"Bearer {args.token or partner_token(args)}"
    if args.purpose:
        headers["Data-Purpose"] = args.purpose
    try:
        reply = await nc.request(f"hub.v1.{operation}", json.dumps(body).encode(), timeout=10, headers=headers)
    except NoRespondersError:
        print(f"error no responders on hub.v1.{operation}: no such endpoint, or the hub is not running")
        return 3
    except TimeoutError:
        print(f"error no answer on hub.v1.{operation} within 10 s")
        return 3
    answer = reply.headers or {}
    if "Nats-Service-Error-Code" in answer:
        # A refusal: the HTTP status and title in headers, the RFC 9457 problem in the body.
        print(f"error {answer['Nats-Service-Error-Code']} {answer.get('Nats-Service-Error', '')}")
        print(reply.data.decode())
        return 1
    print(reply.data.decode())
    return 0


async def events(nc, args):
    js = nc.jetstream()
    durable = user_name(args)
    config = ConsumerConfig(
        durable_name=durable,
        deliver_policy=DeliverPolicy.ALL,  # from the start of the stream, then where it stopped
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=5,
    )
    try:
        subscription = await js.pull_subscribe(args.subject, durable=durable, stream="EVENTS", config=config)
    except TimeoutError:
        # The server drops a request its permissions refuse: what the client sees is no answer.
        print(f"no answer making the durable consumer {durable} on EVENTS: is this a consumer user "
              f"(npx linkage-hub nats add-user {durable} --role consumer)?", file=sys.stderr)
        return 1
    count = 0
    while count < args.max:
        try:
            batch = await subscription.fetch(min(64, args.max - count), timeout=args.idle)
        except TimeoutError:
            break  # nothing more for now
        for message in batch:
            count += 1
            try:
                event = json.loads(message.data)
            except ValueError:
                # Not a CloudEvent: told, and never delivered again (a real consumer may dead-letter it).
                print(f"event {message.metadata.sequence.stream} is not JSON ({len(message.data)} bytes): terminated")
                await message.term()
                continue
            print(f"event {message.metadata.sequence.stream} {event.get('type')} {event.get('id')}")
            await message.ack()  # after handling it: the durable consumer resumes after it next time
    print(f"read {count} events as durable consumer {durable} on EVENTS")
    return 0


def parse(argv):
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=env("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--creds", default=env("NATS_CREDS") or None)
    parser.add_argument("--name", default=env("NATS_USER_NAME"), help="NATS user name (default: the .creds file's name)")
    parser.add_argument("--hub-url", default=env("HUB_URL", "http://127.0.0.1:3000"))
    parser.add_argument("--client-id", default=env("HUB_CLIENT_ID", "test-partner"))
    parser.add_argument("--client-secret", default=env("HUB_CLIENT_SECRET"))
    parser.add_argument("--token", help="an access token to send instead of getting one")
    parser.add_argument("--no-token", action="store_true", help="send no Authorization header")
    parser.add_argument("--purpose", help="the Data-Purpose header")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("find")
    verify = commands.add_parser("verify")
    verify.add_argument("id_number")
    verify.add_argument("full_name")
    generic = commands.add_parser("call")
    generic.add_argument("operation", help="an operationId, e.g. civil-registry.identity.verify")
    generic.add_argument("body", nargs="?", default="{}")
    reader = commands.add_parser("events")
    reader.add_argument("--max", type=int, default=20)
    reader.add_argument("--subject", default="events.>")
    reader.add_argument("--idle", type=float, default=2.0, help="stop after this many seconds with nothing new")
    return parser.parse_args(argv)


async def main(argv):
    args = parse(argv)
    nc = await connect(args)
    try:
        if args.command == "find":
            return await find(nc, args)
        if args.command == "verify":
            args.purpose = args.purpose or "identity-verification"
            body = {"idNumber": args.id_number, "name": args.full_name}
            return await call(nc, args, "civil-registry.identity.verify", body)
        if args.command == "call":
            return await call(nc, args, args.operation, json.loads(args.body))
        return await events(nc, args)
    finally:
        await nc.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
