#pragma once
// bench/raw_client.hpp — the raw anchor's client: the generated C++ stub
// called directly, no runtime. Two shapes: sync unary Execute (one RPC per
// call) and the bidi Channel stream in lock-step (one HostFrame with one
// request, then read until its reply) — the stream is the runtime's hot path
// (DESIGN rule 7). gRPC stays out of this header.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "snakepit_bridge.pb.h"

namespace snakepit::bench {

namespace wire = snakepit::bridge::v1;

/// One gRPC channel (HTTP/2 connection) to a raw server; cheap to copy.
class raw_connection {
public:
  /// Creates the channel and waits until it is connected (throws bench_error).
  static raw_connection connect(const std::string& address, std::chrono::milliseconds timeout);

  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Sync unary Execute on the generated stub. Not thread-safe: one per thread.
class raw_unary_client {
public:
  explicit raw_unary_client(const raw_connection& conn);
  ~raw_unary_client();
  raw_unary_client(const raw_unary_client&) = delete;
  raw_unary_client& operator=(const raw_unary_client&) = delete;

  /// One Execute; throws bench_error on a gRPC failure or an error reply.
  wire::Reply call(const wire::Request& request);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One Channel stream used in lock-step. Not thread-safe: one per thread.
class raw_stream_client {
public:
  explicit raw_stream_client(const raw_connection& conn);
  ~raw_stream_client();  // half-closes and finishes the stream (cancels it on error)
  raw_stream_client(const raw_stream_client&) = delete;
  raw_stream_client& operator=(const raw_stream_client&) = delete;

  /// Sends one request (its id is set here) and reads frames until its Reply.
  wire::Reply call(wire::Request request);
  /// Sends one streaming request and reads chunks until the final one;
  /// returns the number of data chunks. Throws on an error chunk.
  uint64_t stream(wire::Request request);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// What a saturated run measured.
struct saturated_result {
  double per_second = 0;            // calls answered within the window / window
  uint64_t calls = 0;               // calls answered within the window
  double seconds = 0;               // the window as measured
  std::vector<double> latency_us;   // submit → answer, of those calls
};

/// One Channel stream per connection, each kept busy with `inflight_per_stream`
/// requests outstanding for `window`: whenever replies free room, the requests
/// that fit go out together in one HostFrame (a writer and a reader thread
/// per stream). The raw anchor of a saturated pool. Throws bench_error.
saturated_result run_pipelined_streams(const std::vector<raw_connection>& conns,
                                       const wire::Request& request, int inflight_per_stream,
                                       std::chrono::milliseconds window);

/// The latency figure's request: echo(x="16-byte-payload!").
wire::Request echo_request();
/// echo_bytes(data=<size bytes>).
wire::Request echo_bytes_request(std::size_t size);
/// stream_count(count, delay_ms=0).
wire::Request stream_count_request(int64_t count);

/// The payload string of the echo figure (16 bytes).
inline constexpr const char* echo_payload = "16-byte-payload!";

} // namespace snakepit::bench
