#include "supervision/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "supervision/child_record.hpp"
#include "supervision/child_start.hpp"
#include "supervision/child_terminator.hpp"
#include "supervision/restart_intensity.hpp"
#include "supervision/supervision_error.hpp"
#include "supervision/supervision_messages.hpp"

namespace snakepit::supervision {

namespace {

// The supervisor handles one event at a time, like OTP's gen_server loop:
// while a group of children is being stopped (which takes messages and
// timers), later events wait in a queue instead of interleaving.
struct child_exit {      // a child ended on its own
  std::string id;
  uint64_t instance;
  caf::error reason;
};
struct restart_retry {   // a restart whose start function failed, tried again
  std::string id;
};
struct stop_request {    // the parent (or anyone) asked us to stop
  caf::error reason;
};
using event = std::variant<child_exit, restart_retry, stop_request>;

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_flags flags,
                   std::vector<child_spec> specs)
    : caf::event_based_actor(cfg),
      flags_(std::move(flags)),
      intensity_(flags_.intensity),
      terminator_(this) {
    for (auto& spec : specs)
      children_.emplace_back(std::move(spec));
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    set_exit_handler([this](caf::exit_msg& em) {
      // A normal exit message is not a request to stop (OTP ignores it too,
      // unless it comes from the parent; CAF does not tell us the parent).
      if (em.reason && em.reason != caf::exit_reason::normal)
        enqueue(stop_request{em.reason});
    });
    start_all();
    return {
      [this](which_children_atom) { return which_children(); },
      [this](count_children_atom) { return count_children(); },
      [this](await_started_atom) -> caf::result<caf::ok_atom> {
        if (start_error_)
          return start_error_;
        if (started_)
          return caf::ok_atom::value;
        auto rp = make_response_promise<caf::ok_atom>();
        start_waiters_.push_back(rp);
        return rp;
      },
      [this](retry_restart_atom, std::string& id) { enqueue(restart_retry{std::move(id)}); },
      [this](shutdown_timer_atom, uint64_t token) { terminator_.on_timer(token); },
    };
  }

  void on_exit() override {
    // Reached by a normal stop with nothing left running, or when we were
    // killed (kill cannot be trapped): never leave a child behind.
    for (auto& c : children_) {
      if (c.handle)
        anon_send_exit(c.handle, caf::exit_reason::kill);
      if (c.pending)
        anon_send_exit(c.pending, caf::exit_reason::kill);
    }
  }

private:
  using child = child_record;

  // -- events -----------------------------------------------------------------

  void report(event_kind kind, const child* c = nullptr, caf::error reason = {}) {
    report_event(flags_.observer, flags_.name, kind, c, std::move(reason));
  }

  void enqueue(event ev) {
    queue_.push_back(std::move(ev));
    drain();
  }

  void drain() {
    while (!busy_ && !stopping_ && !queue_.empty()) {
      auto ev = std::move(queue_.front());
      queue_.pop_front();
      std::visit([this](auto& e) { handle(e); }, ev);
    }
  }

  // -- lookups ----------------------------------------------------------------

  child* find(const std::string& id) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const child& c) { return c.spec.id == id; });
    return it == children_.end() ? nullptr : &*it;
  }

  child* find(const caf::actor_addr& addr) {
    auto it = std::find_if(children_.begin(), children_.end(), [&](const child& c) {
      return c.handle && c.handle.address() == addr;
    });
    return it == children_.end() ? nullptr : &*it;
  }

  std::vector<child_info> which_children() const {
    std::vector<child_info> out;
    for (auto& c : children_)
      out.push_back(c.info());
    return out;
  }

  child_counts count_children() const {
    child_counts n;
    for (auto& c : children_)
      c.count_into(n);
    return n;
  }

  // -- starting ---------------------------------------------------------------

  // Starts `c`, then calls `then` with an empty error once it runs (and is
  // monitored), or with the start error.
  void start(child& c, bool is_restart, std::function<void(caf::error)> then) {
    auto id = c.spec.id;
    auto spawned = start_child_async(
      this, c.spec, [this, id, is_restart, then = std::move(then)](caf::expected<caf::actor> r) {
        auto* c = find(id);
        if (!c) { // cannot happen while busy; never leave a child unsupervised
          if (r)
            send_exit(*r, caf::exit_reason::kill);
          then(make_error(sup_errc::not_found, "child '" + id + "' vanished while starting"));
          return;
        }
        c->pending = nullptr;
        if (!r) {
          report(event_kind::start_failed, c, r.error());
          then(r.error());
          return;
        }
        c->handle = std::move(*r);
        c->instance++;
        c->restarting = false;
        monitor(c->handle);
        if (is_restart) {
          c->restarts++;
          report(event_kind::child_restarted, c);
        } else {
          report(event_kind::child_started, c);
        }
        then({});
      });
    if (spawned) // still starting; `then` has not run yet
      if (auto* still = find(id))
        still->pending = spawned;
  }

  // OTP's init: each child starts only after the one before it has started.
  void start_all() {
    busy_ = true;
    start_from(0, {});
  }

  void start_from(std::size_t i, std::vector<std::string> started) {
    if (i == children_.size()) {
      started_ = true;
      answer_start_waiters();
      busy_ = false;
      drain();
      return;
    }
    start(children_[i], false,
          [this, i, started = std::move(started)](caf::error err) mutable {
            auto& c = children_[i];
            if (err) {
              start_error_ = make_error(sup_errc::start_failed,
                                        fmt::format("supervisor '{}': child '{}' failed to start: {}",
                                                    flags_.name, c.spec.id, describe(err)));
              answer_start_waiters();
              // OTP: stop what was started, in reverse order, then fail.
              std::reverse(started.begin(), started.end());
              stopping_ = true;
              stop_in_order(started, [this] { finish(start_error_); });
              return;
            }
            started.push_back(c.spec.id);
            start_from(i + 1, std::move(started));
          });
  }

  void answer_start_waiters() {
    for (auto& rp : start_waiters_) {
      if (start_error_)
        rp.deliver(start_error_);
      else
        rp.deliver(caf::ok_atom::value);
    }
    start_waiters_.clear();
  }

  // -- stopping ---------------------------------------------------------------

  // Stops the children named in `ids`, one after another in that order,
  // skipping those not running; then runs `then`.
  void stop_in_order(std::vector<std::string> ids, std::function<void()> then) {
    auto next = std::find_if(ids.begin(), ids.end(), [this](const std::string& id) {
      auto c = find(id);
      return c && c->handle;
    });
    if (next == ids.end()) {
      then();
      return;
    }
    auto* c = find(*next);
    std::vector<std::string> rest(next + 1, ids.end());
    terminator_.stop(c->handle, c->spec.effective_shutdown(),
                     [this, id = c->spec.id, rest = std::move(rest),
                      then = std::move(then)](const stop_result& r) mutable {
                       if (auto* stopped = find(id)) {
                         if (!r.as_expected)
                           report(event_kind::shutdown_error, stopped, r.reason);
                         report(event_kind::child_terminated, stopped, r.reason);
                         stopped->handle = nullptr;
                       }
                       stop_in_order(std::move(rest), std::move(then));
                     });
  }

  void finish(const caf::error& reason) {
    report(event_kind::supervisor_stopped, nullptr, reason);
    quit(reason);
  }

  void begin_shutdown(caf::error reason) {
    stopping_ = true;
    busy_ = true;
    queue_.clear();
    std::vector<std::string> ids;
    for (auto it = children_.rbegin(); it != children_.rend(); ++it)
      ids.push_back(it->spec.id);
    stop_in_order(std::move(ids), [this, reason] { finish(reason); });
  }

  // -- exits and restarts -----------------------------------------------------

  void on_down(caf::down_msg& dm) {
    if (terminator_.on_down(dm))
      return;
    auto* c = find(dm.source);
    if (!c)
      return; // not (or no longer) one of ours
    report(event_kind::child_exited, c, dm.reason);
    c->handle = nullptr;
    enqueue(child_exit{c->spec.id, c->instance, dm.reason});
  }

  void handle(child_exit& ev) {
    auto* c = find(ev.id);
    if (!c || c->instance != ev.instance || c->handle)
      return; // restarted meanwhile by a group restart: OTP ignores the old EXIT too
    auto cls = classify(ev.reason);
    bool restart = c->spec.restart == restart_type::permanent
                   || (c->spec.restart == restart_type::transient && !is_clean(cls));
    if (!restart) {
      if (c->spec.restart == restart_type::temporary)
        erase(ev.id);
      return; // a transient child that ended cleanly keeps its spec, not running
    }
    c->restarting = true;
    restart_with_intensity(ev.id);
  }

  void handle(restart_retry& ev) {
    auto* c = find(ev.id);
    if (!c || !c->restarting)
      return;
    restart_with_intensity(ev.id);
  }

  void handle(stop_request& ev) {
    begin_shutdown(ev.reason);
  }

  void restart_with_intensity(const std::string& id) {
    if (!intensity_.add_restart(clock().now())) {
      report(event_kind::intensity_exceeded, find(id), caf::exit_reason::user_shutdown);
      begin_shutdown(caf::exit_reason::user_shutdown);
      return;
    }
    restart_group(id);
  }

  // The children a restart of `id` involves, in start order.
  std::vector<std::string> group_of(const std::string& id) const {
    std::vector<std::string> out;
    bool after = false;
    for (auto& c : children_) {
      bool is_trigger = c.spec.id == id;
      switch (flags_.strategy) {
        case restart_strategy::one_for_one:
          if (is_trigger)
            out.push_back(c.spec.id);
          break;
        case restart_strategy::one_for_all:
          out.push_back(c.spec.id);
          break;
        case restart_strategy::rest_for_one:
          after = after || is_trigger;
          if (after)
            out.push_back(c.spec.id);
          break;
      }
    }
    return out;
  }

  void restart_group(const std::string& trigger) {
    auto group = group_of(trigger);
    std::vector<std::string> to_stop(group.rbegin(), group.rend());
    busy_ = true;
    stop_in_order(std::move(to_stop), [this, trigger, group] {
      // OTP drops temporary children that a group restart stopped.
      for (auto& id : group)
        if (auto* c = find(id); c && !c->handle && id != trigger
                                && c->spec.restart == restart_type::temporary)
          erase(id);
      start_group(trigger, group, 0, {});
    });
  }

  // Starts the members of a restart group that are not running, in order.
  void start_group(std::string trigger, std::vector<std::string> group, std::size_t i,
                   std::vector<std::string> started) {
    while (i < group.size()) {
      auto* c = find(group[i]);
      if (c && !c->handle)
        break;
      ++i;
    }
    if (i == group.size()) {
      busy_ = false;
      drain();
      return;
    }
    start(*find(group[i]), true,
          [this, trigger, group, i, started = std::move(started)](caf::error err) mutable {
            if (!err) {
              started.push_back(group[i]);
              start_group(std::move(trigger), std::move(group), i + 1, std::move(started));
              return;
            }
            // Undo this round and try again later (the retry counts as a restart).
            for (auto& member : group)
              if (auto* m = find(member); m && !m->handle)
                m->restarting = true;
            std::reverse(started.begin(), started.end());
            stop_in_order(started, [this, trigger] {
              send(caf::actor_cast<caf::actor>(this), retry_restart_atom::value, trigger);
              busy_ = false;
              drain();
            });
          });
  }

  void erase(const std::string& id) {
    children_.erase(std::remove_if(children_.begin(), children_.end(),
                                   [&](const child& c) { return c.spec.id == id; }),
                    children_.end());
  }

  supervisor_flags flags_;
  restart_intensity intensity_;
  child_terminator terminator_;
  std::vector<child> children_;  // start order
  std::deque<event> queue_;
  bool busy_ = false;      // a group of children is being stopped
  bool stopping_ = false;  // the supervisor is on its way out
  bool started_ = false;    // every child of the initial start is up
  caf::error start_error_;
  std::vector<caf::typed_response_promise<caf::ok_atom>> start_waiters_;
};

} // namespace

caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                                           std::vector<child_spec> children) {
  if (auto err = validate(flags))
    return err;
  std::set<std::string> ids;
  for (auto& spec : children) {
    if (auto err = validate(spec))
      return err;
    if (!ids.insert(spec.id).second)
      return make_error(sup_errc::duplicate_child_id,
                        fmt::format("supervisor '{}': two children are named '{}'", flags.name,
                                    spec.id));
  }
  return sys.spawn<supervisor_actor>(std::move(flags), std::move(children));
}

child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> children, restart_type restart) {
  child_spec spec;
  spec.id = std::move(id);
  spec.restart = restart;
  spec.kind = child_kind::supervisor;
  spec.shutdown = shutdown_spec::infinity();
  spec.acknowledges_start = true;
  spec.start = [flags = std::move(flags),
                children = std::move(children)](caf::actor_system& sys) {
    return spawn_supervisor(sys, flags, children);
  };
  return spec;
}

} // namespace snakepit::supervision
