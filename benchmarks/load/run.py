"""The live server under load: N stylus players in rooms, on loopback, against a bare relay.

    python3 benchmarks/load/run.py --players 200 --room-size 4 --seconds 30 [--baseline]
                                   [--find-max] [--processes 4] [--no-pin] [--out results.json]

It starts `python3 -m server.cli serve` on a free port with a fresh SQLite file (and, with
--baseline or --find-max, `relay_app.py` under uvicorn), signs the players up over HTTP before
the clock starts, and runs the players in client processes (`load_players.py`), each room whole
inside one process. While the players draw it reads the server's CPU time from /proc; after,
it waits for every answer still in flight, prints a table and writes the figures as JSON.
By default (`--no-pin` turns it off) the target runs on one CPU and this script and the client
processes on the others: on two cores, bots scheduled onto the target's core preempt it and
measure themselves. Not a test: CI never runs it. See docs/load.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from inkroom_client.mmg import data_path
from load_players import Plan, work

HERE: Final = Path(__file__).resolve().parent
PROJECT: Final = HERE.parents[1]  # the server subprocess runs from the project root
PASSWORD: Final = "Load test 2 player"
BATCHES_PER_S: Final = 60.0
POINTS_PER_BATCH: Final = 4
P99_FOR_MAX_MS: Final = 50.0
START_TIMEOUT_S: Final = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _machine_busy_s() -> tuple[float, float]:
    """CPU seconds all cores spent not idle, machine-wide (other people's work included), and
    of those, the seconds stolen: a virtual machine's CPU that its host gave to someone else."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, fields[7] / tick


def _cpu_s(pid: int) -> tuple[float, float]:
    """utime + stime of a process (all its threads), and stime alone, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, int(fields[12]) / tick


@dataclass
class Target:
    kind: str  # "server" or "relay"
    process: subprocess.Popen[bytes]
    base: str

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def pinning(pin: bool) -> tuple[set[int], set[int]] | None:
    """The CPUs for the target and for everything else (this script, the client processes):
    the first CPU this process may use, and the rest; None when not pinning or with one CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def start_target(
    kind: str,
    workdir: Path,
    log: Path,
    database_url: str | None = None,
    cpus: set[int] | None = None,
) -> Target:
    port = _free_port()
    env = dict(os.environ, INKROOM_SECRET_KEY=secrets.token_urlsafe(48))
    if kind == "server":
        url = database_url or f"sqlite:///{workdir / 'load.db'}"
        argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        argv += ["--database-url", url, "--log-level", "warning"]
    else:
        argv = [sys.executable, str(HERE / "relay_app.py"), "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=PROJECT, env=env, stdout=out, stderr=out)
    if cpus is not None:
        # set on the main thread while it is still starting Python: every thread the server
        # makes later (the writer's, SQLite's) inherits it
        os.sched_setaffinity(process.pid, cpus)
    target = Target(kind, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(target.base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return target
        except OSError:
            time.sleep(0.2)
    target.stop()
    raise RuntimeError(f"{kind} did not answer /healthz in {START_TIMEOUT_S:g} s")


class Accounts:
    """Players signed up once per server and reused by every run against it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tokens: list[str] = []

    def take(self, n: int) -> list[str]:
        if self.target.kind == "relay":
            return [f"relay-{i}" for i in range(n)]
        if len(self.tokens) < n:
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:  # argon2 is CPU-bound: more would only queue
                self.tokens += pool.map(self._sign_up, range(len(self.tokens), n))
            print(f"  signed up {n} players in {time.monotonic() - started:.1f} s", flush=True)
        return self.tokens[:n]

    def _sign_up(self, i: int) -> str:
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": PASSWORD, "display_name": f"bot {i}"}
        request = urllib.request.Request(
            self.target.base + "/api/auth/signup",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            token: str = json.load(response)["token"]
            return token


def _percentiles(samples: np.ndarray) -> dict[str, float | None]:
    if samples.size == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {"p50": p50, "p95": p95, "p99": p99, "max": float(samples.max())}


def run_load(
    target: Target, tokens: list[str], args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    size = args.room_size
    rooms = [tokens[i : i + size] for i in range(0, len(tokens) - size + 1, size)]
    n_proc = max(1, min(args.processes, len(rooms)))
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    compression = None if args.compression == "none" else "deflate"
    plans = [
        Plan(i, target.ws_url, rooms[i::n_proc], args.lesson, seconds, BATCHES_PER_S,
             POINTS_PER_BATCH, target.kind == "server", compression, 1 + i)
        for i in range(n_proc)
    ]  # fmt: skip
    workers = [ctx.Process(target=work, args=(p, ready, go, start_at, results)) for p in plans]
    for w in workers:
        w.start()
    try:
        for _ in workers:
            status, index, detail = ready.get(timeout=START_TIMEOUT_S)
            if status != "ready":
                raise RuntimeError(f"client process {index} failed to set up: {detail}")
        start = time.monotonic() + 1.0
        start_at.value = start
        go.set()
        time.sleep(max(0.0, start - time.monotonic()))
        cpu0, busy0 = _cpu_s(target.process.pid), _machine_busy_s()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        cpu1 = _cpu_s(target.process.pid)
        server_cpu, server_sys = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        busy1 = _machine_busy_s()
        machine_busy, stolen = busy1[0] - busy0[0], busy1[1] - busy0[1]
        parts = []
        for _ in workers:
            status, index, detail = results.get(timeout=seconds + 120)
            if status != "done":
                raise RuntimeError(f"client process {index} failed: {detail}")
            parts.append(detail)
    finally:
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()
                w.join(5)
    run = _merge(target.kind, len(rooms) * size, seconds, server_cpu, parts, n_proc)
    run["machine_cpu_share"] = machine_busy / seconds
    run["server_system_share"] = server_sys / seconds  # the kernel's part of the server's CPU
    # what neither the server nor the bots used: other work on the machine (and this parent),
    # the kernel's softirq work, and CPU the host stole from this virtual machine
    run["other_cpu_share"] = max(0.0, (machine_busy - server_cpu - run["client_cpu_s"]) / seconds)
    run["stolen_cpu_share"] = stolen / seconds
    return run


def _merge(
    kind: str, players: int, seconds: float, server_cpu: float, parts: list[dict[str, Any]],
    n_proc: int,
) -> dict[str, Any]:  # fmt: skip
    peer = np.concatenate([p["peer_ms"] for p in parts])
    feedback = np.concatenate([p["feedback_ms"] for p in parts])
    received: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for p in parts:
        received.update(p["received"])
        errors.update(p["errors"])
    total = {
        k: sum(p[k] for p in parts)
        for k in ("batches_sent", "peer_expected", "peer_received", "feedback_expected",
                  "feedback_received", "unacked", "mismatched", "duplicates",
                  "unexpected_closes", "late_ticks", "frames")
    }  # fmt: skip
    delivered = sum(received.values())
    lost = (
        total["peer_expected"] - total["peer_received"]
        + total["feedback_expected"] - total["feedback_received"]
        + total["unacked"]
    )  # fmt: skip
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    return {
        "target": kind,
        "players": players,
        "seconds": seconds,
        "client_processes": n_proc,
        "batches_sent": total["batches_sent"],
        "batches_per_s": total["batches_sent"] / seconds,
        "peer_points": _percentiles(peer),
        "feedback": _percentiles(feedback),
        "messages_delivered": delivered,
        "frames_delivered": total["frames"],
        "delivered_by_type": dict(received),
        "errors": dict(errors),
        "unexpected_closes": total["unexpected_closes"],
        "lost": lost,
        "mismatched": total["mismatched"],
        "duplicates": total["duplicates"],
        "nothing_lost": lost == 0
        and total["mismatched"] == 0
        and total["duplicates"] == 0
        and all(p["settled"] for p in parts),
        "detail": total,
        "server_cpu_s": server_cpu,
        "server_cpu_share": server_cpu / seconds,
        "client_cpu_s": client_cpu,
        "client_cpu_share": client_cpu / seconds,
        "server_cpu_us_per_message": 1e6 * server_cpu / delivered if delivered else None,
        "server_cpu_us_per_batch": 1e6 * server_cpu / total["batches_sent"]
        if total["batches_sent"]
        else None,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'target':<7}{'players':>8}{'batch/s':>9}{'peer p50':>9}{'p95':>7}{'p99':>7}"
        f"{'max':>8}{'fb p50':>8}{'p95':>7}{'p99':>7}{'max':>8}{'delivered':>11}{'errors':>7}"
        f"{'lost':>6}{'srv cpu':>8}{'of sys':>7}{'cli cpu':>8}{'other':>6}{'stolen':>7}"
        f"{'us/msg':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        peer, fb = r["peer_points"], r["feedback"]
        errors = sum(r["errors"].values()) + r["unexpected_closes"]
        lost = r["lost"] + r["mismatched"] + r["duplicates"]
        lines.append(
            f"{r['target']:<7}{r['players']:>8}{r['batches_per_s']:>9.0f}"
            f"{_ms(peer['p50']):>9}{_ms(peer['p95']):>7}{_ms(peer['p99']):>7}{_ms(peer['max']):>8}"
            f"{_ms(fb['p50']):>8}{_ms(fb['p95']):>7}{_ms(fb['p99']):>7}{_ms(fb['max']):>8}"
            f"{r['messages_delivered']:>11}{errors:>7}{lost:>6}"
            f"{r['server_cpu_share']:>7.0%} {r.get('server_system_share', 0.0):>6.0%}"
            f"{r['client_cpu_share']:>7.0%} "
            f"{r.get('other_cpu_share', 0.0):>6.0%}{r.get('stolen_cpu_share', 0.0):>7.0%}"
            f"{_ms(r['server_cpu_us_per_message']):>7}"
        )
    return "\n".join(lines)


def held(run: dict[str, Any]) -> bool:
    worst = max(v for v in (run["peer_points"]["p99"], run["feedback"]["p99"]) if v is not None)
    clean = not run["errors"] and not run["unexpected_closes"] and run["nothing_lost"]
    return clean and worst <= P99_FOR_MAX_MS


def find_max(
    target: Target, accounts: Accounts, args: argparse.Namespace
) -> tuple[int, list[dict[str, Any]]]:
    best, runs = 0, []
    for n in args.steps:
        print(f"find-max {target.kind}: {n} players, {args.step_seconds:g} s", flush=True)
        run = run_load(target, accounts.take(n), args, args.step_seconds)
        runs.append(run)
        print(table([run]).splitlines()[-1], flush=True)
        if not held(run):
            break
        best = run["players"]  # whole rooms: 90 asked for in rooms of 4 is 88 players
    return best, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--room-size", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--lesson", default="steady-lines")
    parser.add_argument("--baseline", action="store_true", help="also run the bare relay")
    parser.add_argument("--find-max", action="store_true", help="step the player count")
    parser.add_argument("--steps", type=lambda s: [int(v) for v in s.split(",")],
                        default=[40, 80, 120, 160, 200, 240, 280, 320])  # fmt: skip
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="none",
        help="none: the lean bots (benchmarks/load/wire.py); deflate: websockets bots that "
        "offer permessage-deflate as browsers do (both servers decline it)",
    )
    parser.add_argument("--only", choices=["server", "relay"], help="run against one target")
    parser.add_argument("--log-dir", type=Path, help="keep the servers' whole logs here")
    parser.add_argument(
        "--database-url",
        help="the server's database, e.g. an empty Postgres database (default: a fresh SQLite "
        "file); it is migrated and seeded at start",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the target on one CPU, this script and the client processes on the others, so "
        "the bots never take the target's core (default: on, with two CPUs or more)",
    )
    parser.add_argument("--out", type=Path, help="results JSON (default: a temp file)")
    args = parser.parse_args(argv)
    if args.players < args.room_size or args.room_size < 2:
        parser.error("need at least one room of two or more players")

    report: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "log_dir")},
        "strokes": data_path().name if data_path().is_file() else "synthetic",
        "cpus": os.cpu_count(),
        "pinned": None,
        "runs": [],
        "find_max": {},
    }
    pins = pinning(args.pin)
    if pins is not None:
        target_cpus, client_cpus = pins
        os.sched_setaffinity(0, client_cpus)  # the client processes inherit it
        report["pinned"] = {"target": sorted(target_cpus), "clients": sorted(client_cpus)}
        print(f"pinned: the target on CPU {sorted(target_cpus)}, clients on {sorted(client_cpus)}")
    kinds = ["server", *(["relay"] if args.baseline or args.find_max else [])]
    if args.only:
        kinds = [args.only]
    with tempfile.TemporaryDirectory(prefix="inkroom-load-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        for kind in kinds:
            print(f"starting {kind}", flush=True)
            target = start_target(
                kind, workdir, workdir / f"{kind}.log", args.database_url,
                pins[0] if pins is not None else None,
            )  # fmt: skip
            stack.callback(target.stop)
            accounts = Accounts(target)
            tokens = accounts.take(args.players)
            print(f"{kind}: {args.players} players, {args.seconds:g} s", flush=True)
            report["runs"].append(run_load(target, tokens, args, args.seconds))
            if args.find_max:
                best, steps = find_max(target, accounts, args)
                report["find_max"][kind] = {"largest_held": best, "runs": steps}
            target.stop()
            if target.process.returncode not in (0, None, -15):  # uvicorn.run re-raises SIGTERM
                print(f"{kind} exited with {target.process.returncode}", flush=True)
            log_text = (workdir / f"{kind}.log").read_text()
            report[f"{kind}_log_tail"] = log_text[-6000:]
            if args.log_dir:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                (args.log_dir / f"{kind}.log").write_text(log_text)
        out = args.out or Path(tempfile.mkstemp(prefix="inkroom-load-", suffix=".json")[1])
        out.write_text(json.dumps(report, indent=2, default=float))
    print()
    print(table(report["runs"]))
    for kind, found in report["find_max"].items():
        print(f"largest N held at p99 <= {P99_FOR_MAX_MS:g} ms ({kind}): {found['largest_held']}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
