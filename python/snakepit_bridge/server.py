"""A snakepit worker: ``python3 -m snakepit_bridge.server``.

    python3 -m snakepit_bridge.server --adapter MODULE[:CLASS]
        --listen unix:PATH|HOST:PORT --run-id ID
        [--host unix:PATH] [--ready-fd N] [--worker-id ID]

Startup order: import and set up the adapter, bind, start serving, and only
then announce ``READY <address> <pid>`` (on --ready-fd, then closed, and
always on stdout). Logs go to stderr.

Exit codes:
  0   stopped on SIGTERM, SIGINT or a Shutdown call (within the grace
      period, --grace-ms, default 2000, plus 0.25 s)
  1   an unexpected error (Python traceback on stderr)
  2   the adapter cannot be imported, found or set up (no READY line)
  3   cannot listen on the address (no READY line)
  4   the parent process died (watchdog)
  5   the READY line could not be written
  64  bad command line
"""

import argparse
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

from .adapter_loader import AdapterLoadError, load_adapter_class
from .identity import WorkerIdentity
from .listen_address import BindError, bind, unix_socket_path
from .readiness import announce_ready
from .servicer import WorkerServicer, add_worker_service
from .stop_latch import StopLatch
from .watchdog import start_parent_watchdog

log = logging.getLogger("snakepit_bridge.server")

EXIT_OK = 0
EXIT_ADAPTER = 2
EXIT_BIND = 3
EXIT_READY = 5
EXIT_USAGE = 64

DEFAULT_GRACE_SECONDS = 2.0
# Host -> worker frames may carry large arguments; gRPC's default is 4 MiB.
# Sending is left unlimited: the host's receive limit decides.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_args(argv=None):
    parser = _ArgumentParser(prog="snakepit_bridge.server", description=__doc__.split("\n")[0])
    parser.add_argument("--adapter", required=True, help="MODULE[:CLASS] of the adapter")
    parser.add_argument("--listen", required=True, help="unix:PATH or HOST:PORT")
    parser.add_argument("--run-id", required=True, help="the host's run id (marks our processes)")
    parser.add_argument(
        "--host",
        default="",
        help="address of the host's bridge server, called by SessionContext "
        "(session state, host tools); without it those calls raise",
    )
    parser.add_argument("--ready-fd", type=int, default=None, help="fd to write READY to")
    parser.add_argument("--worker-id", default="", help="this worker's id, for logs")
    parser.add_argument("--threads", type=int, default=8, help="gRPC server threads")
    parser.add_argument(
        "--grace-ms",
        type=int,
        default=int(DEFAULT_GRACE_SECONDS * 1000),
        help="time in-flight calls get to finish when stopping",
    )
    parser.add_argument(
        "--log-level", default=os.environ.get("SNAKEPIT_LOG_LEVEL", "INFO"), help="logging level"
    )
    args = parser.parse_args(argv)
    if args.ready_fd is not None:
        try:
            os.fstat(args.ready_fd)
        except OSError as exc:
            parser.error(f"--ready-fd {args.ready_fd} is not an open file descriptor: {exc}")
    if args.threads < 2:
        parser.error("--threads must be at least 2 (the Channel holds one)")
    return args


def configure_logging(worker_id: str, level: str) -> None:
    label = (worker_id or str(os.getpid())).replace("%", "%%")
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format=f"%(asctime)s worker={label} %(levelname)s %(name)s: %(message)s",
    )


def install_signal_handlers(latch: StopLatch) -> None:
    def on_signal(signum, _frame):
        latch.request(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    latch.use_as_signal_wakeup()


def load_adapter(args):
    """Import, create and set up the adapter; AdapterLoadError if it fails."""
    adapter_class, adapter_name = load_adapter_class(args.adapter)
    identity = WorkerIdentity(
        worker_id=args.worker_id,
        run_id=args.run_id,
        adapter=adapter_name,
        listen_address=args.listen,
        host_address=args.host,
    )
    try:
        adapter = adapter_class()
        adapter.setup(identity)
        adapter.tools  # discover now: a broken tool list fails before READY
    except Exception as exc:
        raise AdapterLoadError(
            f"adapter {adapter_name} failed to start: {type(exc).__name__}: {exc}"
        ) from exc
    return adapter, identity


def serve(args) -> int:
    latch = StopLatch()
    install_signal_handlers(latch)
    start_parent_watchdog()

    try:
        adapter, identity = load_adapter(args)
    except AdapterLoadError as exc:
        # A missing module needs no traceback; code that failed does.
        cause = exc.__cause__
        log.error("%s", exc, exc_info=None if isinstance(cause, ModuleNotFoundError) else cause)
        return EXIT_ADAPTER
    if latch.requested:
        return EXIT_OK

    server = grpc.server(
        ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
            ("grpc.max_send_message_length", -1),
            # Without this, a second server could share a busy TCP port
            # silently instead of failing to bind.
            ("grpc.so_reuseport", 0),
        ],
    )
    servicer = WorkerServicer(adapter, identity, lambda grace: latch.request("Shutdown", grace))
    add_worker_service(servicer, server)
    try:
        address = bind(server, args.listen)
    except BindError as exc:
        log.error("%s", exc)
        return EXIT_BIND
    server.start()

    try:
        announce_ready(address, args.ready_fd)
    except OSError as exc:
        log.error("cannot report readiness on fd %s: %s", args.ready_fd, exc)
        server.stop(None)
        return EXIT_READY
    log.info("serving %s on %s (pid %d)", identity.adapter, address, os.getpid())

    reason, grace = latch.wait()
    if grace is None:
        grace = args.grace_ms / 1000.0
    log.info("stopping (%s), grace %.1f s", reason, grace)
    # gRPC cancels what is still running when the grace ends; a moment more
    # lets those calls end cleanly. A tool stuck in its own code is left to
    # os._exit. The server stops first: its GOAWAY then reaches the host
    # before an idle Channel is cancelled (channel.py), while the host is
    # still reading that stream (a client that reads only while it has a
    # call open would otherwise leave the GOAWAY unanswered, and the stop
    # would wait for it).
    stopped = server.stop(grace)
    servicer.begin_shutdown()
    stopped.wait(grace + 0.25)
    _remove_socket_file(args.listen)
    return EXIT_OK


def _remove_socket_file(address: str) -> None:
    path = unix_socket_path(address)
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass  # gRPC removed it already


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_logging(args.worker_id, args.log_level)
    return serve(args)


if __name__ == "__main__":
    try:
        exit_code = main()
    except Exception:
        log.exception("worker failed")
        exit_code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: tool threads still running after the grace period must not
    # keep the process alive (ThreadPoolExecutor joins them at exit).
    os._exit(exit_code)
