#pragma once
// The embedding facade: a host program creates a runtime, which starts the
// supervision tree (pool, worker supervisor → starter → worker) and its
// Python processes, and calls tools on them. Every call blocks the calling
// thread until its outcome or its deadline; any number of threads may call
// at once.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/pool_types.hpp"

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

  result<json> execute(const std::string& tool, json args = json::object(),
                       call_options options = {});
  result<json> execute_in_session(const std::string& session_id, const std::string& tool,
                                  json args = json::object(), call_options options = {});
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

  /// Stops every worker (SIGTERM, grace, SIGKILL) and the tree. Idempotent.
  void shutdown();

  const std::string& run_id() const;
  /// The private directory holding the worker sockets (removed at shutdown).
  const std::string& runtime_dir() const;

  struct impl;

private:
  result<void> stream(const std::string& tool, json args,
                      std::function<bool(const json&)> on_chunk, call_options options);

  std::unique_ptr<impl> impl_;
};

} // namespace snakepit
