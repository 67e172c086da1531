#pragma once
// A pure model of the static and the dynamic supervisor (no CAF): which
// children run, how often each was restarted, the restart history and
// whether the supervisor has ended. The property tests drive the real
// supervisors and this model with the same random operations and compare.
//
// The model assumes what the deterministic harness guarantees: every start
// succeeds at once (so no child lingers in "restarting"), and a child told to
// stop (shutdown exit) dies with `shutdown` at once.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace snakepit::test::model {

enum class restart { permanent, transient, temporary };
enum class strategy { one_for_one, one_for_all, rest_for_one };
/// How a child ends on its own (OTP: normal, shutdown, any crash, killed).
enum class exit_how { normal, shutdown, abnormal, kill };
/// Why a supervisor ended.
enum class end_reason {
  gave_up,    // too many restarts: exits user_shutdown
  shut_down,  // asked to stop (exit user_shutdown from outside): exits user_shutdown
  killed,     // killed from outside: exits kill
};

inline const char* to_string(restart r) {
  switch (r) {
    case restart::permanent: return "permanent";
    case restart::transient: return "transient";
    case restart::temporary: return "temporary";
  }
  return "?";
}

inline const char* to_string(exit_how h) {
  switch (h) {
    case exit_how::normal: return "normal";
    case exit_how::shutdown: return "shutdown";
    case exit_how::abnormal: return "abnormal";
    case exit_how::kill: return "kill";
  }
  return "?";
}

inline const char* to_string(end_reason r) {
  switch (r) {
    case end_reason::gave_up: return "gave_up";
    case end_reason::shut_down: return "shut_down";
    case end_reason::killed: return "killed";
  }
  return "?";
}

// For rapidcheck's counterexamples.
inline std::ostream& operator<<(std::ostream& os, restart r) { return os << to_string(r); }
inline std::ostream& operator<<(std::ostream& os, exit_how h) { return os << to_string(h); }

/// OTP's restart decision.
inline bool restarts_after(restart r, exit_how h) {
  switch (r) {
    case restart::permanent: return true;
    case restart::transient: return h == exit_how::abnormal || h == exit_how::kill;
    case restart::temporary: return false;
  }
  return false;
}

struct child {
  std::string id;
  restart type = restart::permanent;
  bool running = true;
  int restarts = 0;  // times started again
};

/// One line per child, in order: "id(type) running|stopped restarts=N".
/// The tests render the real supervisor's which_children the same way, so a
/// disagreement shows both sides in full.
inline std::string describe(const std::vector<child>& cs) {
  std::string out;
  for (auto& c : cs) {
    out += c.id + "(" + to_string(c.type) + ") " + (c.running ? "running" : "stopped")
           + " restarts=" + std::to_string(c.restarts) + "\n";
  }
  return out;
}

/// Ids separated by spaces, optionally sorted (for orders that are not specified).
inline std::string join(std::vector<std::string> ids, bool sort = false) {
  if (sort)
    std::sort(ids.begin(), ids.end());
  std::string out;
  for (auto& id : ids)
    out += (out.empty() ? "" : " ") + id;
  return out;
}

/// "id=n " for each distinct id in `ids` (sorted), n its count in `alive` (0 if absent).
inline std::string alive_counts(const std::map<std::string, int>& alive,
                                const std::vector<std::string>& ids) {
  std::vector<std::string> all(ids);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::string out;
  for (auto& id : all) {
    auto it = alive.find(id);
    out += id + "=" + std::to_string(it == alive.end() ? 0 : it->second) + " ";
  }
  return out;
}

/// OTP's restart intensity over virtual milliseconds: a restart counts while
/// it is less than `period` old; more than `max_restarts` counting is too many.
struct restart_history {
  int max_restarts = 3;
  std::int64_t period_ms = 5000;
  std::deque<std::int64_t> stamps;  // oldest first

  /// Records a restart at `now`; false when it is one too many.
  bool add(std::int64_t now) {
    while (!stamps.empty() && now - stamps.front() >= period_ms)
      stamps.pop_front();
    stamps.push_back(now);
    return static_cast<int>(stamps.size()) <= max_restarts;
  }
};

/// What both models share: children in start order, clock, ending, and the
/// life log the test children should have written (starts and stops by id).
struct model_base {
  std::vector<child> children;  // start order
  restart_history history;
  std::int64_t now_ms = 0;
  bool given_up = false;
  std::optional<end_reason> ended;
  std::vector<std::string> starts;  // ids, in start order
  std::vector<std::string> stops;   // ids, in stop order

  virtual ~model_base() = default;

  bool alive() const { return !ended.has_value(); }

  void advance(std::int64_t ms) { now_ms += ms; }

  std::vector<std::size_t> running_indices() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < children.size(); ++i)
      if (children[i].running)
        out.push_back(i);
    return out;
  }

  std::size_t running_count() const { return running_indices().size(); }

  /// Running instances by id (what the test children's life log should say).
  std::map<std::string, int> alive_by_id() const {
    std::map<std::string, int> out;
    for (auto& c : children)
      out[c.id] += c.running ? 1 : 0;
    return out;
  }

  std::optional<std::size_t> index_of(const std::string& id) const {
    for (std::size_t i = 0; i < children.size(); ++i)
      if (children[i].id == id)
        return i;
    return std::nullopt;
  }

  /// The running child at `index` (into `children`) ends on its own.
  void child_exits(std::size_t index, exit_how how) { children_exit({{index, how}}); }

  /// Several running children end on their own at once, in this order: all
  /// of them are dead before the supervisor handles the first exit. An exit
  /// is then handled only if its child is still the instance that ended:
  /// one that a group restart started again (or dropped) meanwhile is
  /// ignored, as OTP ignores the EXIT of a pid it no longer knows.
  void children_exit(const std::vector<std::pair<std::size_t, exit_how>>& exits) {
    if (!alive())
      return;
    struct ended_instance {
      std::string id;
      int restarts;
      exit_how how;
    };
    std::vector<ended_instance> ended_now;
    for (auto [index, how] : exits) {
      if (index >= children.size() || !children[index].running)
        continue;
      auto& c = children[index];
      c.running = false;
      stops.push_back(c.id);
      ended_now.push_back({c.id, c.restarts, how});
    }
    for (auto& e : ended_now) {
      if (!alive())
        return;
      auto index = index_of(e.id);
      if (!index || children[*index].restarts != e.restarts)
        continue;  // restarted or dropped meanwhile: a stale exit
      on_child_exit(*index, e.how);
    }
  }

  /// Stops every running child, last started first, and ends.
  void stop_all_and_end(end_reason why) {
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      if (it->running) {
        it->running = false;
        stops.push_back(it->id);
      }
    ended = why;
  }

  /// The supervisor is asked to stop (exit shutdown from its parent).
  void shutdown() {
    if (alive())
      stop_all_and_end(end_reason::shut_down);
  }

  /// The supervisor is killed: its children are killed with it (the order
  /// of their deaths is not specified).
  void kill() {
    if (alive())
      stop_all_and_end(end_reason::killed);
  }

protected:
  /// Handles the exit of the child at `index`, already marked not running.
  virtual void on_child_exit(std::size_t index, exit_how how) = 0;

  /// Records a restart; on one too many, gives up (stops all, ends).
  bool restart_allowed() {
    if (history.add(now_ms))
      return true;
    given_up = true;
    stop_all_and_end(end_reason::gave_up);
    return false;
  }

  void start_again(child& c) {
    c.running = true;
    c.restarts++;
    starts.push_back(c.id);
  }
};

/// The static supervisor (one_for_one, one_for_all, rest_for_one).
struct supervisor_model : model_base {
  strategy strat = strategy::one_for_one;

  supervisor_model(strategy s, int max_restarts, std::int64_t period_ms,
                   const std::vector<child>& specs)
    : strat(s) {
    history.max_restarts = max_restarts;
    history.period_ms = period_ms;
    for (auto c : specs) {
      c.running = true;
      c.restarts = 0;
      starts.push_back(c.id);
      children.push_back(std::move(c));
    }
  }

protected:
  /// The exit of the child at `index` (already not running) is handled.
  void on_child_exit(std::size_t index, exit_how how) override {
    auto& c = children[index];
    if (!restarts_after(c.type, how)) {
      if (c.type == restart::temporary)
        children.erase(children.begin() + static_cast<std::ptrdiff_t>(index));
      return;  // a transient child that ended cleanly keeps its spec, not running
    }
    if (!restart_allowed())
      return;
    // The group: the trigger alone, everything, or the trigger and all after it.
    std::size_t first = index, last = index + 1;
    if (strat == strategy::one_for_all) {
      first = 0;
      last = children.size();
    } else if (strat == strategy::rest_for_one) {
      last = children.size();
    }
    // Stop the running members, last started first.
    for (std::size_t i = last; i-- > first;)
      if (children[i].running) {
        children[i].running = false;
        stops.push_back(children[i].id);
      }
    // Drop the temporary members (the trigger is never temporary: a temporary
    // child is not restarted), whether the group restart stopped them or they
    // had ended on their own and their exit is still to be handled.
    std::vector<child> kept;
    std::size_t kept_last = last;
    for (std::size_t i = 0; i < children.size(); ++i) {
      bool in_group = i >= first && i < last;
      if (in_group && children[i].type == restart::temporary) {
        --kept_last;
        continue;
      }
      kept.push_back(std::move(children[i]));
    }
    children = std::move(kept);
    // Start every member again, in start order (transient ones that had
    // ended cleanly earlier too).
    for (std::size_t i = first; i < kept_last; ++i)
      start_again(children[i]);
  }
};

/// The dynamic supervisor (one_for_one, children added at run time).
struct dynamic_supervisor_model : model_base {
  std::optional<std::size_t> max_children;  // nullopt: unlimited
  int next_id = 0;

  dynamic_supervisor_model(std::optional<std::size_t> max, int max_restarts,
                           std::int64_t period_ms)
    : max_children(max) {
    history.max_restarts = max_restarts;
    history.period_ms = period_ms;
  }

  /// The id the next accepted child gets.
  std::string next_child_id() const { return "c" + std::to_string(next_id); }

  /// Starts a new child; returns its id, or nullopt when refused (at
  /// max_children; children waiting for a restart count too, but in the
  /// deterministic harness none waits).
  std::optional<std::string> start_child(restart type) {
    if (!alive())
      return std::nullopt;
    if (max_children && children.size() >= *max_children)
      return std::nullopt;
    child c{next_child_id(), type, true, 0};
    ++next_id;
    starts.push_back(c.id);
    children.push_back(c);
    return c.id;
  }

  /// terminate_child: stops the child and forgets it (no restart, not counted).
  void terminate_child(std::size_t index) {
    if (!alive() || index >= children.size())
      return;
    if (children[index].running)
      stops.push_back(children[index].id);
    children.erase(children.begin() + static_cast<std::ptrdiff_t>(index));
  }

protected:
  void on_child_exit(std::size_t index, exit_how how) override {
    if (!restarts_after(children[index].type, how)) {
      // Dynamic children leave no spec behind.
      children.erase(children.begin() + static_cast<std::ptrdiff_t>(index));
      return;
    }
    if (!restart_allowed())
      return;
    start_again(children[index]);
  }
};

} // namespace snakepit::test::model
