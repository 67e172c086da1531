#pragma once
// What a demo's steps get: options, state passed from step to step, output
// (notes under the step, a live progress bar), and resource creation that is
// tracked so the runner can always release it (DESIGN: demos/).

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>
#include <fmt/format.h>
#include <snakepit/snakepit.hpp>

#include "demo.hpp"

namespace snakepit::demos {

struct run_options {
  std::size_t pool_size = 2;
  bool quick = false;          // smaller payloads, fewer rounds (tests)
  bool live_progress = false;  // draw progress bars (stdout is a terminal)
  bool verbose = false;        // runtime warnings shown as notes
};

/// One thing a demo created. `release` undoes it (gone already is fine);
/// `alive` tells the global tracker whether it still exists.
struct resource {
  std::string kind;  // "session", "variable", "file", "actor", "runtime", "host_tool", ...
  std::string id;
  std::function<snakepit::result<void>()> release;
  std::function<bool()> alive;
  /// Released after every other resource and after the leak check of the
  /// others (a runtime: sessions are checked while it still runs).
  bool last = false;
};

/// Thrown by context::check and context::value; the runner reports it as the
/// step's failure (any other exception is reported the same way).
class step_failure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class context {
public:
  context(std::string demo_name, run_options options, caf::actor_system& actors,
          std::string scratch_dir, std::FILE* out);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  const run_options& options() const { return options_; }
  bool quick() const { return options_.quick; }
  /// Picks the quick or the full figure.
  template <class T>
  T size(T full, T quick_size) const { return options_.quick ? quick_size : full; }

  // --- state between steps

  /// Free-form state the steps share, e.g. state()["session"] = id.
  json& state() { return state_; }
  /// The value a previous step returned (null if it returned none).
  const json& result_of(const std::string& step) const;

  // --- output

  /// A line shown under the current step.
  void note(std::string line);
  template <class... Args>
  void note(fmt::format_string<Args...> f, Args&&... args) {
    note(fmt::format(f, std::forward<Args>(args)...));
  }
  /// A live progress bar (only when stdout is a terminal; otherwise nothing).
  void progress(std::size_t done, std::size_t total, std::string_view label = {});

  // --- tracked resources

  /// Starts a runtime with the run's options (pool size, a quiet log) and
  /// `tune`'s changes, and waits until it is ready. Tracked: shut down last,
  /// and the global tracker checks that none of its processes survive.
  snakepit::runtime& start_runtime(const std::function<void(snakepit::config&)>& tune = {});
  /// The runtime started last (step_failure if none).
  snakepit::runtime& rt();
  /// A new session "<prefix>-<n>" in rt(), closed at release.
  std::string create_session(const std::string& prefix);
  /// A session created otherwise (execute_in_session creates on first use).
  void track_session(const std::string& id);
  /// A variable a Python tool created in a session (a worker-side object).
  void track_variable(const std::string& session, const std::string& name);
  /// A host tool registered for this demo; unregistered at release.
  void register_host_tool(snakepit::host_tool tool);
  /// A file in the demo's scratch directory with `content`; removed at release.
  std::string temp_file(const std::string& name, std::string_view content);
  /// The demo's scratch directory (removed after the demo; the global
  /// tracker reports anything left in it).
  const std::string& scratch_dir() const { return scratch_dir_; }
  /// The runner's actor system, for actors a demo spawns.
  caf::actor_system& actor_system() { return actors_; }
  /// An actor this demo spawned: stopped at release (shutdown, then kill).
  void track_actor(const caf::actor& actor, const std::string& label);
  /// Anything else.
  void track(resource r);

  /// An object the steps share that is not json (an event log, a
  /// subscription): created on first use, destroyed with the context after
  /// every resource was released.
  template <class T>
  T& shared(const std::string& key) {
    auto& slot = objects()[key];
    if (!slot)
      slot = std::make_shared<T>();
    return *std::static_pointer_cast<T>(slot);
  }

  // --- helpers for steps

  /// The value, or step_failure("what: error").
  json value(snakepit::result<json> r, std::string_view what);
  void ok(snakepit::result<void> r, std::string_view what);
  void check(bool condition, std::string_view what);

  // --- for the runner
  struct internals;
  internals& runner_side() { return *in_; }

private:
  std::map<std::string, std::shared_ptr<void>>& objects();

  std::string demo_name_;
  run_options options_;
  caf::actor_system& actors_;
  std::string scratch_dir_;
  std::FILE* out_;
  json state_ = json::object();
  std::unique_ptr<internals> in_;
};

/// What the runner reads and drives (kept out of the steps' view).
struct context::internals {
  std::map<std::string, json> results;     // step name → value
  std::vector<std::string> notes;          // of the current step
  std::vector<resource> resources;         // in creation order
  std::vector<std::unique_ptr<snakepit::runtime>> runtimes;
  std::vector<std::string> run_ids;
  std::vector<std::string> runtime_log;    // warnings and errors of the demo's runtimes
  bool progress_drawn = false;
  int session_counter = 0;
  /// After the runtimes: destroyed before them.
  std::map<std::string, std::shared_ptr<void>> objects;
};

} // namespace snakepit::demos
