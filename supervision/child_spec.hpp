#pragma once
// What a supervisor needs to know to start, restart and stop one child.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace snakepit::supervision {

/// When a child that ended is started again (OTP's restart types).
enum class restart_type {
  permanent,  // always
  transient,  // only if it ended abnormally (not normal, not shutdown)
  temporary,  // never; its spec is dropped when it ends
};

/// Whether the child is itself a supervisor. Only changes the default
/// shutdown (supervisors wait for their subtree: infinity) and the counts.
enum class child_kind { worker, supervisor };

/// How a child is stopped: killed at once, asked to stop and killed after a
/// timeout, or asked to stop and waited for without limit.
class shutdown_spec {
public:
  enum class mode { brutal_kill, timeout, infinity };

  static shutdown_spec brutal_kill() { return shutdown_spec{mode::brutal_kill, {}}; }
  static shutdown_spec timeout(std::chrono::milliseconds t) {
    return shutdown_spec{mode::timeout, t};
  }
  static shutdown_spec infinity() { return shutdown_spec{mode::infinity, {}}; }

  mode kind() const { return mode_; }
  std::chrono::milliseconds timeout_value() const { return timeout_; }

  friend bool operator==(const shutdown_spec&, const shutdown_spec&) = default;

private:
  shutdown_spec(mode m, std::chrono::milliseconds t) : mode_(m), timeout_(t) {}
  mode mode_;
  std::chrono::milliseconds timeout_;
};

std::string to_string(const shutdown_spec& s);
const char* to_string(restart_type r);
const char* to_string(child_kind k);

/// Spawns the child and returns its handle, or an error that the supervisor
/// reports as start_failed. Called on the supervisor's own thread: it must
/// not block (spawn the actor; let it do slow setup after it runs).
using start_function = std::function<caf::expected<caf::actor>(caf::actor_system&)>;

/// Default shutdown timeout of a worker child (OTP's 5000 ms).
inline constexpr std::chrono::milliseconds default_worker_shutdown{5000};

struct child_spec {
  std::string id;                         // unique within a static supervisor
  start_function start;                   // required
  restart_type restart = restart_type::permanent;
  std::optional<shutdown_spec> shutdown;  // unset: infinity for supervisors, 5000 ms for workers
  child_kind kind = child_kind::worker;

  /// OTP's synchronous init, made asynchronous: when set, the child answers
  /// `await_started_atom` with ok once it has finished starting (or with the
  /// error that stopped it), and the supervisor waits for that answer, up to
  /// `start_timeout`, before it starts the next child or reports the start.
  /// Our own supervisors (nested, dynamic, starters) set it.
  bool acknowledges_start = false;
  std::chrono::milliseconds start_timeout{60000};

  shutdown_spec effective_shutdown() const {
    if (shutdown)
      return *shutdown;
    return kind == child_kind::supervisor ? shutdown_spec::infinity()
                                          : shutdown_spec::timeout(default_worker_shutdown);
  }
};

/// Checks a spec before anything is started: returns an empty error when it
/// is valid, otherwise sup_errc::invalid_child_spec naming the broken rule.
/// `require_id` is false for dynamic supervisors, whose children are found by handle.
caf::error validate(const child_spec& spec, bool require_id = true);

} // namespace snakepit::supervision
