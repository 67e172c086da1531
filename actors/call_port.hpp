#pragma once
// The hot path into one worker's connection (DESIGN rule 7).
//
// The worker actor owns its process and its connection (start, health,
// stop, crash). Once the connection is open, the worker wraps it in a
// call_port and hands the port to the pool in its hello. From then on:
//
//  * the pool sends calls straight into the connection from its own thread
//    (no hop through the worker actor), several at once where it can (one
//    stream frame);
//  * each call's outcome is handed, on the thread that read it (gRPC's), to
//    the function that came with the call. The pool's function answers the
//    caller right there and tells the pool, with one small message, that
//    the worker has finished that call;
//  * stream chunks go from that same thread to the call's sink actor, in
//    order, before the call's outcome.
//
// When the worker stops or crashes it closes the port: every call still in
// it gets the closing error (shutting_down, worker_crashed) and later calls
// are refused with it.
//
// Threading: every member may be called from any thread. Calls into the
// connection are serialized, so an adapter's connection need not be
// thread-safe. Outcome functions run with none of the port's locks held: a
// connection may report an outcome inline from execute().

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/error.hpp"
#include "actors/worker_protocol.hpp"

namespace snakepit {
class worker_connection;
struct connection_callbacks;
}

namespace snakepit::detail {

class call_port : public std::enable_shared_from_this<call_port> {
public:
  /// Receives a call's one outcome, on any thread; quick and thread-safe.
  using outcome_fn = std::function<void(call_outcome)>;

  struct submission {
    call c;
    outcome_fn done;
  };

  /// `on_send_failed` hears (once) that the connection refused a call as
  /// broken (worker_crashed), so the worker can leave at once.
  explicit call_port(std::function<void(std::string)> on_send_failed);
  ~call_port();
  call_port(const call_port&) = delete;
  call_port& operator=(const call_port&) = delete;

  /// The callbacks to open the connection with: they route outcomes and
  /// chunks through this port (held weakly: the port owns the connection).
  /// `on_closed` is passed through. The port must be owned by a shared_ptr.
  connection_callbacks callbacks(std::function<void(std::string)> on_closed);

  /// Takes over the opened connection.
  void attach(std::unique_ptr<worker_connection> conn);

  /// Sends calls (in one frame where the connection can). Returns one entry
  /// per call, in order: empty when the call went out (its outcome will reach
  /// its `done`), else the error that kept it from going (its `done` is then
  /// never called).
  std::vector<std::optional<snakepit::error>> submit(std::vector<submission> calls);
  std::optional<snakepit::error> submit(call c, outcome_fn done);

  /// Asks the worker to give up a call still in the port (no-op otherwise).
  void cancel(uint64_t call_id);

  /// Fails every call still in the port with `code`/`why` and refuses new
  /// ones. Idempotent (the first reason stays).
  void close(errc code, const std::string& why);

  /// Graceful end of the connection's execute path (after close()).
  void close_connection();

  /// Ends the connection now and returns it, to be destroyed by the caller
  /// (outside any lock). Later submits are refused.
  std::unique_ptr<worker_connection> detach();

  /// Calls sent and not yet answered.
  std::size_t in_flight() const;

  /// Closed (or detached): it takes no more calls.
  bool is_closed() const;

private:
  struct entry {
    outcome_fn done;
    caf::actor sink;
    std::vector<nlohmann::json> collected;  // chunks of a stream called without a sink
    bool streamed = false;
  };

  void on_outcome(uint64_t id, call_outcome out);
  void on_chunk(uint64_t id, nlohmann::json chunk);
  snakepit::error closed_error_locked() const;

  std::function<void(std::string)> on_send_failed_;

  mutable std::mutex table_mx_;  // guards the fields below
  std::unordered_map<uint64_t, entry> calls_;
  bool closed_ = false;
  errc closed_code_ = errc::shutting_down;
  std::string closed_why_;
  bool send_failure_reported_ = false;

  std::mutex send_mx_;  // serializes calls into the connection
  std::unique_ptr<worker_connection> conn_;
};

} // namespace snakepit::detail
