#pragma once
// The messages between the pool and its workers (internal to the runtime).
//
// worker → pool   (worker_ready_atom, worker_hello)           once the worker answers health pings
//                 (or worker_ready_atom, worker_hello, port_handle), see below
// worker → pool   (worker_failed_atom, std::string id, error)  startup failed; the worker exits next
// pool → worker   request (execute_atom, call) -> call_outcome  exactly one outcome per call:
//                 the result, a typed error, or worker_crashed if the process died meanwhile
// pool → worker   (cancel_call_atom, uint64_t call_id)        the caller gave up
// caller → pool   (cancel_call_atom, uint64_t call_id)        give up a call: queued → cancelled
//                                                             at once; in flight → told to the worker
// worker → sink   (chunk_atom, uint64_t call_id, nlohmann::json) stream chunks, in order, before
//                 the call's outcome
//
// The pool monitors every worker that said hello; a worker's down message
// fails whatever the pool still had on it with worker_crashed.
//
// The hot path: a worker whose hello carries a call_port (actors/call_port.hpp)
// is not sent execute requests; the pool puts calls straight into the port,
// and the thread that reads an outcome answers the caller itself (when the
// call has a `reply` function) and tells the pool:
// port thread → pool (call_settled_atom, uint64_t ticket, bool ok)       answered directly
// port thread → pool (call_outcome_atom, uint64_t ticket, call_outcome)  for the pool to answer

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <nlohmann/json.hpp>

#include "actors/message_types.hpp"
#include "actors/error.hpp"
#include "actors/pool_types.hpp"

namespace snakepit::detail {

using execute_atom = caf::atom_constant<caf::atom("execute")>;
using cancel_call_atom = caf::atom_constant<caf::atom("cancel_cal")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using worker_ready_atom = caf::atom_constant<caf::atom("wrk_ready")>;
using worker_failed_atom = caf::atom_constant<caf::atom("wrk_failed")>;
using call_settled_atom = caf::atom_constant<caf::atom("call_setl")>;
using call_outcome_atom = caf::atom_constant<caf::atom("call_outc")>;

// Requests to the pool from the embedding facade.
using pool_execute_atom = caf::atom_constant<caf::atom("pool_exec")>;
using pool_stats_atom = caf::atom_constant<caf::atom("pool_stats")>;
using list_workers_atom = caf::atom_constant<caf::atom("list_wrks")>;
/// (forget_session_atom, session id): the session ended; drop its affinity.
using forget_session_atom = caf::atom_constant<caf::atom("pool_forgt")>;
using await_ready_atom = caf::atom_constant<caf::atom("await_rdy")>;

struct call {
  uint64_t id = 0;                                // unique per pool
  std::string tool;
  nlohmann::json args = nlohmann::json::object();
  std::string session_id;
  std::chrono::steady_clock::time_point deadline; // absolute: time in the queue counts
  std::map<std::string, std::string> metadata;
  caf::actor stream_sink;                         // set for streaming calls
};

struct call_outcome {
  std::optional<nlohmann::json> value;  // set on success
  snakepit::error error;                // meaningful when value is empty

  static call_outcome ok(nlohmann::json v) { return {std::move(v), {}}; }
  static call_outcome failed(snakepit::error e) { return {std::nullopt, std::move(e)}; }
};

/// What the facade hands the pool: the call plus how to place it.
struct pool_call {
  call c;
  affinity_mode affinity = affinity_mode::hint;
  /// When set, the pool answers through this (on its own thread; it must be
  /// quick and thread-safe) instead of a response message: the embedding
  /// facade's cheap crossing, with no actor on the caller's side.
  std::function<void(call_outcome)> reply;
};

class call_port;

struct worker_hello {
  std::string worker_id;  // the slot id, stable across restarts
  caf::actor worker;
  int os_pid = 0;
};

/// A worker that takes calls through a port (instead of execute requests)
/// says hello with it: (worker_ready_atom, worker_hello, port_handle).
using port_handle = std::shared_ptr<call_port>;

} // namespace snakepit::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::detail::call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::detail::pool_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::detail::call_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::detail::worker_hello)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::detail::port_handle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::pool_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<snakepit::worker_info>)
