"""Command line: ``python -m diffcourse figures [--out DIR]``."""

import argparse
import sys


def _figures(args) -> int:
    from diffcourse import plotting

    for path in plotting.make_all_figures(args.out):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m diffcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate every figure in figures/")
    fig.add_argument("--out", default="figures", help="output folder (default: figures)")
    fig.set_defaults(func=_figures)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
