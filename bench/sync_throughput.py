"""Measure Baileys-to-Go sync throughput (seed 000 FR-016: at least 100 messages/s on 10,000 messages).

Runs the reference orchestrator's sync against both bridge simulators through the requests-mock
transport, timed with the real clock. Exit status 1 when the target is missed.

    python bench/sync_throughput.py [--messages 10000] [--chats 5] [--target 100]
"""

from __future__ import annotations

import argparse
import sys
import time

from mcptest.sim.behaviour import generate_messages
from mcptest.sim.mock import mock_bridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.sync import MessageSync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=5)
    parser.add_argument("--target", type=float, default=100.0, help="minimum messages per second")
    args = parser.parse_args(argv)

    with mock_bridges() as sims:
        per_chat, extra = divmod(args.messages, args.chats)
        for n in range(args.chats):
            jid = f"1203630000000{n:05d}@g.us"
            sims.baileys.seed({"messages": generate_messages(jid, per_chat + (n < extra), prefix=f"c{n}-")})
        syncer = MessageSync(GoClient(), BaileysClient(), clock=time.perf_counter)
        result = syncer.sync_all_chats()
        stored = len(sims.go.stored())

    ok = result.success and result.synced == args.messages == stored and result.throughput >= args.target
    print(
        f"synced {result.synced} of {args.messages} messages ({args.chats} chats, {result.batches} batches) "
        f"in {result.elapsed:.3f}s: {result.throughput:.0f} messages/s (target >= {args.target:g}) "
        f"-> {'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
