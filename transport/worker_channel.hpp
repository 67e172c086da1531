// transport/worker_channel.hpp — the host side of one worker's gRPC
// connection: unary control calls (Ping, DescribeTools, Shutdown) and the one
// long-lived bidirectional Channel stream that carries all execute traffic.
// CAF-free: results arrive through callbacks (the worker actor anon_sends from
// them). gRPC stays out of this header.
#pragma once

#include "transport/worker_channel_error.hpp"

#include "snakepit_bridge.pb.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace snakepit::transport {

namespace wire = snakepit::bridge::v1;

struct worker_channel_options {
  /// "unix:/abs/path.sock" or "host:port".
  std::string address;
  /// Largest message accepted either way. gRPC's default (4 MiB) is too
  /// small for payloads.
  int max_message_bytes = 64 * 1024 * 1024;
  /// Reconnect backoff of the underlying connection, so that a worker that
  /// just became ready is reached quickly.
  std::chrono::milliseconds reconnect_backoff{100};
};

/// The callbacks of the Channel stream.
struct channel_callbacks {
  /// One terminal Reply (result or ErrorInfo) for a request id.
  std::function<void(wire::Reply&&)> on_reply;
  /// One chunk of a streaming request; the last one has final = true.
  std::function<void(wire::Chunk&&)> on_chunk;
  /// The stream ended: channel_ok after close() and an orderly end, else the
  /// reason (worker_unavailable if the worker died, cancelled after abort()
  /// or destruction, ...). Requests without a terminal reply by then will
  /// never get one. Always called exactly once, last.
  std::function<void(channel_result<channel_ok>)> on_closed;
};

/// One worker's connection.
///
/// THREADING: every member function is thread-safe and returns at once
/// (nothing blocks on the network; connecting is lazy). Every callback, unary
/// or the stream's, runs on the reader of the process's connection queue
/// (transport/connection_queue.hpp): its helper thread, or a synchronous
/// caller whose poll offer the stream took (transport/caller_poll.hpp: send()
/// takes it when nothing else is in flight and nobody reads the queue),
/// inside that caller's poll_until. Never inline in send() with one of our
/// locks held. One thread at a time reads for every worker connection, so
/// callbacks must be quick (a slow one delays every worker's replies) and
/// thread-safe (an actor would just anon_send). The stream's on_reply/on_chunk
/// calls are serialized (one read at a time) and on_closed comes after all of
/// them.
///
/// LIFETIME: the state of every call lives in shared_ptrs owned by the call
/// itself, so destroying the worker_channel with calls in flight is safe: the
/// destructor cancels them (without waiting) and each still gets its callback
/// exactly once (usually `cancelled`), possibly after the destructor has
/// returned. Callbacks must therefore only capture what outlives them (actor
/// handles, shared_ptrs). Each unary callback and on_closed is the last use of
/// its state.
class worker_channel {
public:
  template <class T>
  using callback = std::function<void(channel_result<T>)>;

  /// Creates the gRPC channel (no I/O yet). Fails with invalid_address for an
  /// empty address.
  [[nodiscard]] static channel_result<std::unique_ptr<worker_channel>>
  connect(worker_channel_options options);

  ~worker_channel();
  worker_channel(const worker_channel&) = delete;
  worker_channel& operator=(const worker_channel&) = delete;

  [[nodiscard]] const std::string& address() const noexcept;

  // --- unary control calls (each with its own deadline) ----------------------

  void ping(std::chrono::milliseconds timeout, callback<wire::PingReply> done);
  void describe_tools(std::chrono::milliseconds timeout, callback<wire::DescribeToolsReply> done);
  /// Asks the worker to stop within `grace` (0: the worker's default).
  void shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                callback<wire::ShutdownReply> done);

  // --- the Channel stream ----------------------------------------------------

  /// Opens the stream (once per worker_channel). Without a connection it
  /// fails fast: on_closed then reports worker_unavailable.
  [[nodiscard]] channel_result<channel_ok> open(channel_callbacks callbacks);

  /// Queues requests (ids chosen by the caller, unique on this channel). One
  /// HostFrame is written at a time; whatever is queued while a write is in
  /// flight goes out together in the next frame (adaptive batching: an idle
  /// stream sends at once). Fails with not_open / stream_closed.
  [[nodiscard]] channel_result<channel_ok> send(std::vector<wire::Request> requests);
  /// Same for a single request.
  [[nodiscard]] channel_result<channel_ok> send(wire::Request request);

  /// Queues cancels (in the same frames as requests). A queued request
  /// is answered CANCELLED; a running one sees ctx.cancelled().
  [[nodiscard]] channel_result<channel_ok> cancel(std::vector<std::uint64_t> ids);

  /// Graceful end: flushes what is queued, then half-closes; the worker
  /// answers what it holds and ends the stream (on_closed with channel_ok).
  void close();

  /// Immediate end: cancels the stream (on_closed with cancelled).
  void abort();

  /// Frames written so far and requests they carried (for tests/telemetry).
  struct stream_stats {
    std::uint64_t frames_written = 0;
    std::uint64_t requests_written = 0;
    std::uint64_t frames_read = 0;
  };
  [[nodiscard]] stream_stats stats() const;

private:
  struct impl; // defined in the .cpp
  explicit worker_channel(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

} // namespace snakepit::transport
