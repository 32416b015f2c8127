"""Make services that listen on 127.0.0.1 reachable from Docker containers.

    python local/bridge_forward.py --listen 172.17.0.1 --port 4566 --port 4580

The local stack (the emulator, the fake Instagram) listens on 127.0.0.1 only. A Lambda container
that `sam local invoke` starts sits on a Docker bridge and reaches this machine at the bridge's
gateway address (`host.docker.internal` with `--add-host host.docker.internal:host-gateway`), so
this forwards <gateway>:<port> to 127.0.0.1:<port>. The gateway address is reachable from this
machine and its containers only. A port already taken on that address (a service listening on
all addresses, such as LocalStack's) is skipped: it is reachable already.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _handler(port: int):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


async def serve(listen: str, ports: list[int]) -> None:
    servers = []
    for port in ports:
        try:
            servers.append(await asyncio.start_server(_handler(port), listen, port))
            print(f"forwarding {listen}:{port} -> 127.0.0.1:{port}", flush=True)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            print(f"{listen}:{port} is taken (already reachable): not forwarding it", flush=True)
    if not servers:
        return
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True, help="the Docker bridge's gateway address")
    parser.add_argument("--port", type=int, action="append", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.listen, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
