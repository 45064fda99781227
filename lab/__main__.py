"""`python -m lab up [--clean] [--dir DIR] | down | status | env` (the clusterdeck CLI wraps the same API)."""

from __future__ import annotations

import argparse
import json
import sys

from lab import manager


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="the clusterdeck lab of local servers")
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--dir", default=None, help="lab directory (default: $CLUSTERDECK_LAB_DIR or a tmp dir)")
    parser.add_argument("--clean", action="store_true", help="plant no fault")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            state = manager.up(args.dir, clean=args.clean)
            print(f"lab up in {state['dir']} ({state['startup_seconds']}s, "
                  f"{'planted faults' if state['planted'] else 'clean'})", file=sys.stderr)
            print(manager.env_lines(args.dir), end="")
        elif args.command == "down":
            print("lab stopped" if manager.down(args.dir) else "no lab was running", file=sys.stderr)
        elif args.command == "status":
            state = manager.status(args.dir)
            if state is None:
                print("no lab is running", file=sys.stderr)
                return 1
            print(json.dumps(state, indent=2))
        else:
            print(manager.env_lines(args.dir), end="")
    except (manager.LabAlreadyRunning, manager.LabNotRunning, manager.LabError) as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
