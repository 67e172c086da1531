// transport/bridge_server.hpp — the host bridge: the gRPC server (service
// HostBridge of host_bridge.proto) that Python workers call back into for
// session state and host tools. Generic: it knows the wire and nothing about
// actors; a bridge_handler (written on the actors side) answers the calls.
// gRPC stays out of this header.
#pragma once

#include "transport/bridge_server_error.hpp"

#include "host_bridge.pb.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace snakepit::transport {

namespace wire = snakepit::bridge::v1;

/// Answers the bridge's calls. Each method is called on the bridge's one
/// thread (`sp-bridge`) and must return quickly without blocking (an
/// actor-side handler just sends a message); it answers later through `done`.
///
/// Each `done` must be called exactly once, from any thread. A `done` called
/// after the call already ended (deadline passed, caller gone, server shut
/// down) is ignored; a `done` never called costs the caller its deadline.
class bridge_handler {
public:
  virtual ~bridge_handler() = default;
  virtual void session(wire::SessionRequest req, std::function<void(wire::SessionReply)> done) = 0;
  virtual void call_host_tool(wire::HostToolCall call,
                              std::function<void(wire::HostToolReply)> done) = 0;
  virtual void list_host_tools(std::function<void(wire::HostToolList)> done) = 0;
};

struct bridge_server_options {
  /// "unix:/abs/path.sock" (the default transport: the directory must exist,
  /// belong to us and grant group/others nothing) or "host:port" ("127.0.0.1:0"
  /// picks a free port; see bridge_server::address()).
  std::string address;
  std::shared_ptr<bridge_handler> handler;
  /// How long the handler has to answer a call before the caller gets
  /// DEADLINE_EXCEEDED. A caller's own, shorter deadline ends the call
  /// earlier (CANCELLED on this side).
  std::chrono::milliseconds request_deadline{10000};
  /// Largest message accepted either way (tensors travel as values).
  int max_message_bytes = 64 * 1024 * 1024;
};

/// A running HostBridge server.
///
/// Every call is finished exactly once, by whichever comes first: the
/// handler's `done`, the request deadline (DEADLINE_EXCEEDED), the caller
/// cancelling, or shutdown (UNAVAILABLE). No thread waits per call: one
/// thread runs every completion, on a queue that does not poll (with gRPC's
/// default poller), so it never competes with the threads reading the
/// workers; its sockets are read by those threads, or by the standby poller
/// while none polls (transport/standby_poller.hpp). One timer thread holds
/// the deadlines.
///
/// THREADING: thread-safe. LIFETIME: destroying the server shuts it down;
/// `done` callbacks still held by the handler stay safe to call afterwards.
class bridge_server {
public:
  [[nodiscard]] static bridge_result<std::unique_ptr<bridge_server>>
  start(bridge_server_options options);

  ~bridge_server();
  bridge_server(const bridge_server&) = delete;
  bridge_server& operator=(const bridge_server&) = delete;

  /// The address workers dial: the Unix address as given, or for TCP the
  /// host with the port actually bound (port 0 replaced).
  [[nodiscard]] const std::string& address() const noexcept;

  /// Stops serving: calls in flight are answered UNAVAILABLE at once, new
  /// ones are refused, and gRPC gets `deadline` to flush the answers before
  /// it cancels what is left. Returns once the server is down (it never
  /// waits for a `done`). Idempotent; later calls return at once. Not from
  /// inside a bridge_handler method: gRPC waits for those to return.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::milliseconds{1000});

  /// Calls received and not yet finished (tests, telemetry).
  [[nodiscard]] std::size_t in_flight() const;

private:
  struct impl; // defined in the .cpp
  explicit bridge_server(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

} // namespace snakepit::transport
