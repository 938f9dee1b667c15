"""`inkroom bot`: players that sign up, join or create rooms and draw real human strokes against a
live server (`inkroom_client.bot`), with a live stats line and a summary (docs/bots.md).

With `--processes K` the players are shared out among K processes (spawned), whole rooms each,
so that every peer latency is measured on one clock; each process reports its counts and new
samples twice a second and the parent adds them up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import queue
import re
import signal
import sys
import time
import urllib.parse
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TextIO

from inkroom_client.bot import BotConfig, Run, groups, run_bots
from inkroom_client.bot_stats import BotStats, Report, Tally, format_summary, live_line, summary
from inkroom_client.mmg import data_path

from server.cli import command

JOIN_CODE: Final = re.compile(r"[A-Za-z0-9]{4,12}")
TICK_S: Final = 0.5
PLAIN_EVERY_S: Final = 5.0  # the stats line's period when stderr is not a terminal
EXIT_INTERRUPTED: Final = 130


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="http(s) base URL")
    parser.add_argument("--lesson", help="lesson slug (not with --join: the room's lesson)")
    parser.add_argument("--players", type=int, default=3, help="bots to run (default 3)")
    parser.add_argument("--join", metavar="CODE", help="join this room instead of creating one")
    parser.add_argument("--solo", action="store_true", help="solo practice attempts")
    parser.add_argument(
        "--room-size", type=int, default=0, help="players per room (default: all in one room)"
    )
    parser.add_argument(
        "--start-after",
        type=float,
        default=60.0,
        help="a host starts its room when all its bots are in, or after this many s (60)",
    )
    parser.add_argument(
        "--strokes", type=Path, help="real stroke data (default: as inkroom_client.mmg finds it)"
    )
    parser.add_argument("--synthetic", action="store_true", help="synthesised strokes only")
    parser.add_argument("--speed", type=float, default=1.0, help="time factor (2: twice as fast)")
    parser.add_argument("--seed", type=int, default=0, help="stroke choice and noise seed")
    parser.add_argument("--processes", type=int, default=1, help="client processes (default 1)")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    parser.add_argument("--quiet", action="store_true", help="no live stats line")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


class UsageError(Exception):
    pass


def config_from(args: argparse.Namespace) -> BotConfig:
    server = str(args.server).rstrip("/")
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--server: expected an http(s) URL, got {args.server!r}")
    if not 1 <= args.players <= 10_000:
        raise UsageError("--players: 1 to 10,000")
    if not (math.isfinite(args.speed) and 0.01 <= args.speed <= 1_000):
        raise UsageError("--speed: 0.01 to 1000")
    if not (math.isfinite(args.start_after) and args.start_after >= 0):
        raise UsageError("--start-after: a number of seconds, 0 or more")
    if args.room_size < 0 or not 1 <= args.processes <= 64:
        raise UsageError("--room-size: 0 or more; --processes: 1 to 64")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError("--timeout: a positive number of seconds")
    if args.join is not None:
        if not JOIN_CODE.fullmatch(args.join):
            raise UsageError("--join: a join code is 4 to 12 letters and digits")
        if args.solo or args.lesson:
            raise UsageError("--join takes the room's lesson: no --lesson or --solo with it")
    elif not args.lesson:
        raise UsageError("--lesson SLUG is needed (or --join CODE)")
    return BotConfig(
        server=server,
        lesson=args.lesson,
        players=args.players,
        join=args.join.upper() if args.join else None,
        solo=args.solo,
        room_size=args.room_size,
        strokes=args.strokes,
        synthetic=args.synthetic,
        speed=args.speed,
        seed=args.seed,
        start_after_s=args.start_after,
    )


def shares(config: BotConfig, processes: int) -> list[BotConfig]:
    """One config per process: whole rooms each (a room's bots share one clock)."""
    if config.solo or config.join:
        units = [1] * config.players
    else:
        units = groups(config.players, config.room_size)
    processes = max(1, min(processes, len(units)))
    per: list[list[int]] = [[] for _ in range(processes)]
    for i, unit in enumerate(units):
        per[i % processes].append(unit)
    out, first = [], 0
    for part in per:
        players = sum(part)
        size = config.room_size if config.room_size > 0 else players
        out.append(replace(config, players=players, first=first, room_size=size))
        first += players
    return out


class Screen:
    """The live stats line (stderr): redrawn in place on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last_plain = 0.0
        self.notes_shown = 0
        self.drawn = False

    def show(self, stats: BotStats, final: bool = False) -> None:
        for note in stats.notes[self.notes_shown :]:  # room codes and the like, always
            self._clear()
            print(f"inkroom bot: {note}", file=self.stream, flush=True)
        self.notes_shown = len(stats.notes)
        if self.quiet:
            return
        now = time.monotonic()
        line = live_line(stats, now - self.started)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            self.drawn = True
            if final:
                self._clear()
            self.stream.flush()
        elif final or now - self.last_plain >= PLAIN_EVERY_S:
            self.last_plain = now
            print(line, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False


# -- one process ------------------------------------------------------------------------------


async def _run_here(
    config: BotConfig, stats: BotStats, screen: Screen, timeout: float | None
) -> tuple[Run, bool]:
    stop = asyncio.Event()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    if timeout is not None:
        loop.call_later(timeout, stop.set)
    try:
        run = await run_bots(config, stats, stop, on_tick=lambda _run: screen.show(stats))
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
    return run, interrupted


# -- several processes ------------------------------------------------------------------------


def _child(config: BotConfig, index: int, out: Any, stop: Any) -> None:
    """A bot process: plays its share and reports to the parent (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent says when to stop
    stats = BotStats()

    async def main() -> None:
        halt = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.1)
            halt.set()

        watcher = asyncio.create_task(watch())

        def tick(_run: Run) -> None:
            out.put(("tick", index, stats.report()))

        try:
            await run_bots(config, stats, halt, on_tick=tick)
        finally:
            watcher.cancel()

    try:
        asyncio.run(main())
    except Exception as exc:  # the parent reports it and exits non-zero
        stats.counts["failures"] += 1
        stats.note(f"process {index}: {type(exc).__name__}: {exc}")
    out.put(("done", index, stats.report()))


def _run_processes(
    configs: list[BotConfig], screen: Screen, timeout: float | None
) -> tuple[BotStats, bool]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    stop = context.Event()
    tally = Tally()
    interrupted = False
    children = [
        context.Process(target=_child, args=(c, i, out, stop), name=f"inkroom-bot-{i}")
        for i, c in enumerate(configs)
    ]
    for child in children:
        child.start()
    done: set[int] = set()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while len(done) < len(children):
            try:
                kind, index, report = out.get(timeout=TICK_S)
            except queue.Empty:
                if any(not c.is_alive() for i, c in enumerate(children) if i not in done):
                    dead = [i for i, c in enumerate(children) if not c.is_alive()]
                    if all(i in done for i in dead):
                        continue
                    time.sleep(TICK_S)  # its last report may still be in the pipe
                    if out.empty():
                        for i in dead:
                            if i not in done:
                                done.add(i)
                                tally.stats.note(f"process {i} died")
                continue
            finally:
                if deadline is not None and time.monotonic() > deadline:
                    stop.set()
            assert isinstance(report, Report)
            tally.add(index, report)
            if kind == "done":
                done.add(index)
            screen.show(tally.stats)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        while len(done) < len(children):  # their summaries, once they stop
            try:
                kind, index, report = out.get(timeout=30)
            except (queue.Empty, KeyboardInterrupt):
                break
            tally.add(index, report)
            if kind == "done":
                done.add(index)
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
    return tally.stats, interrupted


# -- the command ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON has no NaN: nothing measured is null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _source(config: BotConfig) -> str:
    path = config.strokes or data_path()
    return "synthetic" if config.synthetic or not path.is_file() else path.name


@command("bot", "bots that draw real human strokes in rooms against a live server", _configure)
def _bot(args: argparse.Namespace) -> int:
    try:
        config = config_from(args)
    except UsageError as exc:
        print(f"inkroom bot: {exc}", file=sys.stderr)
        return 2
    screen = Screen(args.quiet)
    started = time.monotonic()
    configs = shares(config, args.processes)
    if len(configs) == 1:
        stats = BotStats()
        try:
            _run, interrupted = asyncio.run(_run_here(configs[0], stats, screen, args.timeout))
        except KeyboardInterrupt:  # before the handler was in place
            interrupted = True
    else:
        stats, interrupted = _run_processes(configs, screen, args.timeout)
    screen.show(stats, final=True)
    result = summary(
        stats,
        mode=config.mode,
        lesson=config.lesson or config.join,
        source=_source(config),
        speed=config.speed,
        processes=len(configs),
        elapsed_s=round(time.monotonic() - started, 3),
        interrupted=interrupted,
    )
    if args.json:
        print(json.dumps(_plain(result), indent=2))
    else:
        print(format_summary(result))
    if interrupted:
        return EXIT_INTERRUPTED
    clean = not stats.errors and not stats.counts["failures"]
    return 0 if clean and stats.counts["finished"] == config.players else 1
