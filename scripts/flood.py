#!/usr/bin/env python3
"""Floods the probe port of a wp-sentinel binary on loopback while a kubelet-like
prober (a new connection every 100 ms, `Connection: close`, the request sent at
once, 2 s timeout as in the manifests) counts unanswered probes; samples the
sidecar's RSS and open file descriptors. Loopback only; every loop is bounded in
time and count.

    scripts/flood.py BINARY [BINARY ...] [--seconds 15] [--scenarios idle10k,...]

Prints one Markdown table row per binary and scenario.
"""

import argparse
import asyncio
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def hold(port, kind, deadline, stats):
    """One attacker lane: connect, misbehave, reconnect when closed, until deadline."""
    while time.monotonic() < deadline and stats["connects"] < 2_000_000:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        stats["connects"] += 1
        try:
            if kind == "slowloris":
                writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            elif kind.startswith("oversized"):
                size = 380 * 1024 if kind == "oversized380k" else 32 * 1024
                writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * size)
            elif kind == "connflood":
                writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            while time.monotonic() < deadline:
                if kind == "slowloris":
                    try:
                        data = await asyncio.wait_for(reader.read(1024), 2.0)
                        if not data:
                            break
                    except asyncio.TimeoutError:
                        writer.write(b"a")
                        await writer.drain()
                else:
                    data = await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic()))
                    if not data:
                        break
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()


async def probe(port):
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 2.0)
        writer.write(
            b"GET /livez HTTP/1.1\r\nHost: x\r\nUser-Agent: flood-prober\r\nConnection: close\r\n\r\n"
        )
        data = await asyncio.wait_for(reader.read(), 2.0 - (time.monotonic() - started))
        writer.close()
        ok = data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.1 503")
    except (OSError, asyncio.TimeoutError):
        ok = False
    return ok, time.monotonic() - started


def attack(port, kind, lanes, seconds, connects):
    async def run():
        deadline = time.monotonic() + seconds
        stats = {"connects": 0}
        tasks = [asyncio.create_task(hold(port, kind, deadline, stats)) for _ in range(lanes)]
        await asyncio.gather(*tasks, return_exceptions=True)
        connects.value = stats["connects"]

    asyncio.run(run())


SCENARIOS = {
    # name: (kind, lanes)
    "idle10k": ("idle", 10_000),
    "slowloris3k": ("slowloris", 3_000),
    "oversized2048": ("oversized", 2_048),
    "oversized380k": ("oversized380k", 2_048),
    "connflood": ("connflood", 64),
}


async def scenario(binary, name, seconds):
    kind, lanes = SCENARIOS[name]
    port = free_port()
    env = dict(
        os.environ,
        WP_SENTINEL_LISTEN=f"{HOST}:{port}",
        WP_SENTINEL_WORDPRESS_URL=f"http://{HOST}:{free_port()}/",
        WP_SENTINEL_MYSQL__ENABLED="false",
        WP_SENTINEL_WPCONFIG__ENABLED="false",
        WP_SENTINEL_LOG__LEVEL="error",
    )
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if (await probe(port))[0]:
                break
            await asyncio.sleep(0.05)
        idle_rss = rss_kib(server.pid)
        # The attackers run in a process of their own, so their load never delays
        # the prober's own event loop.
        connects = multiprocessing.Value("l", 0)
        attacker = multiprocessing.Process(target=attack, args=(port, kind, lanes, seconds, connects))
        attacker.start()
        deadline = time.monotonic() + seconds
        await asyncio.sleep(min(2.0, seconds / 4))  # let the flood build up
        results, peak_rss, peak_fds = [], 0, 0
        while time.monotonic() < deadline - 2.5:
            results.append(await probe(port))
            peak_rss = max(peak_rss, rss_kib(server.pid))
            peak_fds = max(peak_fds, fds(server.pid))
            await asyncio.sleep(0.1)
        attacker.join(seconds + 30)
        if attacker.is_alive():
            attacker.kill()
        stats = {"connects": connects.value}
        await asyncio.sleep(1.0)
        after_rss = rss_kib(server.pid)
        latencies = sorted(latency for ok, latency in results if ok)
        failed = sum(1 for ok, _ in results if not ok)
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
        print(
            f"| {os.path.basename(binary)} | {name} ({lanes} lanes, {stats['connects']} connects) "
            f"| {failed} of {len(results)} | {p99 * 1000:.1f} ms | {(max(latencies) if latencies else float('nan')) * 1000:.1f} ms "
            f"| {idle_rss / 1024:.1f} / {peak_rss / 1024:.1f} / {after_rss / 1024:.1f} MB | {peak_fds} |",
            flush=True,
        )
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    print("| binary | attack | probes unanswered | p99 | max | RSS idle / peak / 1 s after (MB) | peak fds |")
    print("|---|---|---|---|---|---|---|")
    for name in args.scenarios.split(","):
        for binary in args.binaries:
            asyncio.run(scenario(binary, name, args.seconds))


if __name__ == "__main__":
    main()
