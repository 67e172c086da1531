#pragma once
// How a worker reaches its process. The worker actor owns the life cycle
// (supervision, restarts, the calls it holds, stopping); an adapter knows how
// to launch the process, tell that it is ready, connect, execute, stream,
// health-check and cancel. The gRPC Python adapter is the first one
// (grpc_python_adapter.hpp); another transport or language is one more
// implementation of these two classes, and nothing else changes.
//
// Threading: connection callbacks may run on any thread (gRPC's, a reader
// thread...), even inline in execute(); they are quick (they complete the
// call, see actors/call_port.hpp). A connection's members are called from
// one thread at a time, but not always the same one (the worker's, the
// pool's): a call_port serializes them.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/host_tool.hpp"
#include "actors/worker_context.hpp"
#include "actors/worker_protocol.hpp"
#include "transport/process_observer.hpp"
#include "transport/process_spec.hpp"

namespace snakepit {

struct connection_callbacks {
  /// The one outcome of a call (for a stream: after its chunks; null on success).
  std::function<void(uint64_t call_id, detail::call_outcome)> on_outcome;
  /// One chunk of a streaming call, in order.
  std::function<void(uint64_t call_id, nlohmann::json chunk)> on_chunk;
  /// The connection ended (empty `why`: closed by us). Calls without an
  /// outcome by then never get one.
  std::function<void(std::string why)> on_closed;
};

class worker_connection {
public:
  virtual ~worker_connection() = default;
  /// Asks the process whether it serves; `done(pid, "")` or `done(0, why)`.
  virtual void health_check(std::chrono::milliseconds timeout,
                            std::function<void(int pid, std::string why)> done) = 0;
  /// Starts the execute path; outcomes and chunks flow to `cb`.
  virtual std::optional<snakepit::error> open(connection_callbacks cb) = 0;
  /// Sends one call (the deadline in `c` bounds it on the other side too).
  virtual std::optional<snakepit::error> execute(detail::call c) = 0;
  /// Sends several calls at once (in one message where the transport can).
  /// One entry per call, in order: empty when it went out. Default: execute()
  /// each.
  virtual std::vector<std::optional<snakepit::error>> execute_batch(std::vector<detail::call> calls) {
    std::vector<std::optional<snakepit::error>> out;
    out.reserve(calls.size());
    for (auto& c : calls)
      out.push_back(execute(std::move(c)));
    return out;
  }
  virtual void cancel(uint64_t call_id) = 0;
  /// The tools the process offers (for runtime::list_tools). Default: an
  /// adapter that cannot tell reports none.
  virtual void describe_tools(std::chrono::milliseconds timeout,
                              std::function<void(result<std::vector<tool_info>>)> done) {
    (void) timeout;
    done(std::vector<tool_info>{});
  }
  /// Graceful end of the execute path.
  virtual void close() = 0;
};

class worker_adapter {
public:
  virtual ~worker_adapter() = default;
  virtual std::string name() const = 0;
  /// The process to start for a slot. It must run in its own process group
  /// (the launcher sees to it) and carry ctx.run_id on its command line.
  virtual transport::process_spec launch_spec(const worker_context& ctx) const = 0;
  /// Whether this output line says the process now accepts calls.
  virtual bool is_ready_line(transport::output_stream stream, const std::string& line) const = 0;
  /// Connects to a ready process; `ready_line` is the line that said so
  /// (it may carry the address, e.g. a TCP port chosen by the process).
  virtual result<std::unique_ptr<worker_connection>>
  connect(const worker_context& ctx, const std::string& ready_line) const = 0;
};

} // namespace snakepit
