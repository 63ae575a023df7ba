"""Command line: python -m depsim --port 8480 [--host 127.0.0.1] [--state FILE] [--seed N] [--demo-devices N]."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from depsim.server import DepSimHTTPServer, build_simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m depsim",
        description="Simulated Apple DEP web service (mdmenrollment.apple.com) with a mini Apple Business "
        "Manager at /abm/ and a control API at /_control/.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8480, help="port to listen on (default 8480; 0 = any free)")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="JSON file that keeps servers, devices, profiles and "
        "change logs across restarts (written atomically after changes)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed for generated data (serials, keys, UUIDs, repeats, random faults) so runs are reproducible",
    )
    parser.add_argument(
        "--demo-devices",
        type=int,
        default=0,
        metavar="N",
        help="create N unassigned demo "
        "devices in the organisation at start (skipped when the state file already has devices)",
    )
    parser.add_argument(
        "--repeat-rate",
        type=float,
        default=0.01,
        metavar="P",
        help="probability that an "
        "operation is followed by a repeat of a recent one, as Apple warns (default 0.01; 0 = never)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    sim, persister = build_simulator(
        seed=args.seed, state_file=args.state, repeat_rate=args.repeat_rate, demo_devices=args.demo_devices
    )
    httpd = DepSimHTTPServer((args.host, args.port), sim)
    host, port = httpd.server_address[:2]
    logging.info("depsim serving http://%s:%s (Business Manager: http://%s:%s/abm/)", host, port, host, port)
    # SIGTERM (docker stop, supervisors) should save the state like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        if persister:
            persister.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
