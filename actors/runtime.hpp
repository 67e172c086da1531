#pragma once
// The embedding facade: a host program creates a runtime, which starts the
// supervision tree (pool, worker supervisor → starter → worker) and its
// Python processes, and calls tools on them. Every call blocks the calling
// thread until its outcome or its deadline; any number of threads may call
// at once.

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/host_tool.hpp"
#include "actors/pool_types.hpp"
#include "actors/session_event.hpp"
#include "actors/session_protocol.hpp"
#include "actors/session_variable.hpp"

namespace snakepit {

using json = nlohmann::json;

class runtime {
public:
  /// Starts the tree. Problems (no such interpreter, an adapter that does not
  /// import) surface through await_ready, which then fails fast.
  explicit runtime(config cfg = {});
  ~runtime();  // shutdown()
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Waits until every worker is ready, or fails with startup_failed (the
  /// first worker's error, with its stderr) or not_ready (timeout).
  result<void> await_ready(std::chrono::milliseconds timeout);

  /// Waits for the call's outcome. A call that finds a worker free may read
  /// that worker's stream on this thread while it waits (no thread handoff
  /// for the outcome); an outcome of another call read meanwhile (rare: only
  /// with pipelining) is then answered on this thread too.
  result<json> execute(const std::string& tool, json args = json::object(),
                       call_options options = {});
  result<json> execute_in_session(const std::string& session_id, const std::string& tool,
                                  json args = json::object(), call_options options = {});

  /// Asynchronous calls: one host thread can keep many calls in flight.
  /// The future is ready when the call has its outcome (or its deadline).
  std::future<result<json>> execute_async(const std::string& tool, json args = json::object(),
                                          call_options options = {});
  /// `done` runs once, on one of the runtime's threads (the one that read the
  /// outcome, or the deadline timer's): keep it quick and thread-safe (the
  /// thread that reads outcomes reads them for every worker), and do not
  /// call the runtime's blocking functions from it. An error known at once
  /// (runtime shut down, arguments not an object, queue full, a connection
  /// that refuses the call) runs `done` on the calling thread before this
  /// returns. Calling execute_async from `done` is fine.
  void execute_async(const std::string& tool, json args,
                     std::function<void(result<json>)> done, call_options options = {});
  /// Calls a streaming tool; `on_chunk` runs on this thread for each chunk,
  /// in order, before this returns. If it returns bool, false stops the
  /// stream early: the call is cancelled and the result is ok.
  template <class F>
  result<void> execute_stream(const std::string& tool, json args, F&& on_chunk,
                              call_options options = {}) {
    using R = std::invoke_result_t<F&, const json&>;
    if constexpr (std::is_same_v<R, void>)
      return stream(tool, std::move(args),
                    [&on_chunk](const json& c) { on_chunk(c); return true; }, std::move(options));
    else
      return stream(tool, std::move(args),
                    [&on_chunk](const json& c) { return static_cast<bool>(on_chunk(c)); },
                    std::move(options));
  }

  pool_stats stats();
  std::vector<worker_info> list_workers();

  // --- sessions: state the host owns; Python reads and writes it through
  // SessionContext. execute_in_session creates a session on first use.
  // Every call below waits at most a few seconds for the session layer.

  /// already_exists, session_limit, invalid_argument (ids: 1-256 printable
  /// ASCII characters, no spaces).
  result<void> create_session(const std::string& id);
  /// session_not_found
  result<session_info> session(const std::string& id);
  std::vector<std::string> list_sessions();
  /// active → paused → active; refused transitions are invalid_state.
  result<void> pause_session(const std::string& id);
  result<void> resume_session(const std::string& id);
  /// cleanup → terminated: its variables are gone and its id is free again.
  result<void> close_session(const std::string& id);

  result<variable> register_variable(const std::string& session, std::string name,
                                     variable_type type, json value,
                                     variable_constraints constraints = {});
  result<variable> get_variable(const std::string& session, std::string name);
  /// With expected_version: compare-and-set (version_conflict if it moved).
  result<variable> set_variable(const std::string& session, std::string name, json value,
                                std::optional<uint64_t> expected_version = std::nullopt);
  result<variable> increment_variable(const std::string& session, std::string name,
                                      json delta = 1);
  result<void> delete_variable(const std::string& session, std::string name);
  result<std::vector<variable>> list_variables(const std::string& session);
  /// All or nothing.
  result<std::vector<variable>> get_variables(const std::string& session,
                                              std::vector<std::string> names);
  result<std::vector<variable>> set_variables(const std::string& session,
                                              std::vector<std::pair<std::string, json>> writes);

  /// One session's events, delivered to `on_event` on a runtime thread (in
  /// order) until the subscription is destroyed or the session ends.
  class subscription {
  public:
    subscription();
    subscription(subscription&&) noexcept;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();  // unsubscribes
    void cancel();
    struct state;  // opaque
    explicit subscription(std::unique_ptr<state> s);

  private:
    std::unique_ptr<state> state_;
  };
  result<subscription> subscribe(const std::string& session,
                                 std::function<void(const session_event&)> on_event);

  // --- tools both ways

  /// A C++ function Python tools may call (SessionContext.call_host_tool).
  /// already_exists, invalid_argument.
  result<void> register_host_tool(host_tool tool);
  result<void> unregister_host_tool(const std::string& name);
  /// Every tool: the host tools, by name, then the tools the workers'
  /// processes offer (name, description, parameters, streaming or not), as
  /// reported by each worker when it started.
  std::vector<tool_info> list_tools();

  /// Stops every worker (SIGTERM, grace, SIGKILL) and the tree. Idempotent.
  void shutdown();

  const std::string& run_id() const;

  /// What the boot sweep found of earlier runs of this instance.
  struct sweep_report {
    bool ran = false;
    std::size_t found = 0;         // live processes of earlier runs
    std::size_t killed = 0;
    std::size_t survived = 0;
    std::size_t already_gone = 0;  // recorded, no longer running
    std::size_t skipped_pid_reused = 0;
    /// Of `found`: orphans of dead hosts found by their environment, which
    /// the registry did not vouch for (e.g. its file was corrupt).
    std::size_t found_by_environment = 0;
    /// Runtime directories (sockets) of dead hosts' runs, removed.
    std::size_t runtime_dirs_removed = 0;
  };
  const sweep_report& boot_sweep() const;

  /// What application cleanup found after the tree stopped: in the normal
  /// case nothing (every process was stopped by its worker); anything found
  /// is a supervision bug, logged and killed.
  struct cleanup_report {
    bool ran = false;
    std::size_t orphans_found = 0;
    std::size_t orphans_killed = 0;
  };
  const cleanup_report& last_cleanup() const;

  /// For scripts: kills every process recorded by earlier runs of the
  /// config's instance that is still running (same rules as the boot sweep).
  static result<sweep_report> cleanup(const config& cfg);
  /// The actor system and the top (app) supervisor, for introspection with
  /// the supervision API (which_children, count_children, ...) and for
  /// fault injection in tests. Null tree: the runtime could not start.
  caf::actor_system& system();
  caf::actor supervision_tree() const;

  /// The private directory holding the worker sockets (removed at shutdown).
  const std::string& runtime_dir() const;

  struct impl;

private:
  result<void> stream(const std::string& tool, json args,
                      std::function<bool(const json&)> on_chunk, call_options options);

  std::unique_ptr<impl> impl_;
};

} // namespace snakepit
