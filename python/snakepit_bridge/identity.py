"""Who a worker is, as told by the host on its command line."""

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerIdentity:
    worker_id: str
    run_id: str
    adapter: str  # MODULE:CLASS as resolved
    listen_address: str
    host_address: str = ""  # the host's bridge server, if given
