// transport/standby_poller.hpp — who reads the host bridge's sockets, without
// leaving an idle gRPC poller beside the threads that read the workers.
//
// With gRPC's default poller (epoll1) every socket of the process sits in one
// epoll set, and any thread waiting on any polling completion queue may be
// the one that reads it. A thread that merely waits on a polling queue costs
// the others: each time the active poller wakes, it hands the poller role to
// the idle waiter, which wakes too. Measured (snakepit-bench --only
// throughput, one extra idle waiter, no bridge): a lock-step call went from
// 2.0 to 4.2 host context switches and from ~40 to ~70 us of host CPU.
//
// So the bridge waits on a non-polling queue (bridge_server.cpp), and its
// sockets are read by whichever of our threads polls a worker connection at
// the time (connection_queue: a caller in poll_until, or its helper). Those
// threads say so with a polling_scope. When none has polled for a while, the
// standby poller thread polls instead, until one starts again; it checks
// every `quiet_period`, so a lock-step caller's gaps between calls never
// wake it.
//
// Only for epoll1: with another poll strategy a queue polls only the sockets
// added to it, and the bridge polls its own (standby_poller::needed()).
#pragma once

#include <chrono>
#include <memory>

namespace snakepit::transport {

/// While alive, the current thread is about to poll (or is polling) a gRPC
/// completion queue, so gRPC's sockets are being read: the standby steps
/// aside. Cheap: two atomic increments, plus a kick when the standby polls.
class polling_scope {
public:
  polling_scope();
  ~polling_scope();
  polling_scope(const polling_scope&) = delete;
  polling_scope& operator=(const polling_scope&) = delete;
};

/// The process's standby poller: one thread, shared by every holder.
class standby_poller {
public:
  /// How long no polling_scope may have been entered before the standby
  /// polls (and how often it looks).
  static constexpr std::chrono::milliseconds quiet_period{2};

  /// Whether the process's poll strategy needs a standby (epoll1: the
  /// default on Linux, or GRPC_POLL_STRATEGY naming it first or "all").
  [[nodiscard]] static bool needed();

  /// The running standby (started by the first holder, stopped when the
  /// last one lets go).
  [[nodiscard]] static std::shared_ptr<standby_poller> acquire();

  virtual ~standby_poller() = default;

protected:
  standby_poller() = default;
};

} // namespace snakepit::transport
