#include "supervision/dynamic_supervisor.hpp"

#include <map>
#include <utility>

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

class dynamic_supervisor_actor : public caf::event_based_actor {
public:
  dynamic_supervisor_actor(caf::actor_config& cfg, dynamic_supervisor_flags flags)
    : caf::event_based_actor(cfg),
      flags_(std::move(flags)),
      intensity_(flags_.intensity),
      terminator_(this) {
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    set_exit_handler([this](caf::exit_msg& em) {
      if (em.reason && em.reason != caf::exit_reason::normal)
        begin_shutdown(em.reason);
    });
    return {
      [this](start_child_atom, child_spec& spec) -> caf::result<caf::actor> {
        return start_new(std::move(spec));
      },
      [this](terminate_child_atom, const caf::actor& who) -> caf::result<caf::ok_atom> {
        return terminate(who);
      },
      [this](which_children_atom) { return which_children(); },
      [this](count_children_atom) { return count_children(); },
      [this](await_started_atom) { return caf::ok_atom::value; },
      [this](retry_restart_atom, uint64_t key) { retry(key); },
      [this](shutdown_timer_atom, uint64_t token) { terminator_.on_timer(token); },
    };
  }

  void on_exit() override {
    for (auto& [key, c] : children_) {
      if (c.handle)
        anon_send_exit(c.handle, caf::exit_reason::kill);
      if (c.pending)
        anon_send_exit(c.pending, caf::exit_reason::kill);
    }
  }

private:
  using child = child_record;

  void report(event_kind kind, const child* c = nullptr, caf::error reason = {}) {
    report_event(flags_.observer, flags_.name, kind, c, std::move(reason));
  }

  std::map<uint64_t, child>::iterator find(const caf::actor_addr& addr) {
    for (auto it = children_.begin(); it != children_.end(); ++it)
      if (it->second.handle && it->second.handle.address() == addr)
        return it;
    return children_.end();
  }

  caf::result<caf::actor> start_new(child_spec spec) {
    if (stopping_)
      return make_error(sup_errc::shutting_down,
                        fmt::format("dynamic supervisor '{}' is shutting down", flags_.name));
    if (auto err = validate(spec, false))
      return err;
    // Children waiting for a restart, or still starting, hold their place
    // (Elixir counts them too).
    if (children_.size() >= flags_.max_children)
      return make_error(sup_errc::max_children,
                        fmt::format("dynamic supervisor '{}' has {} of max {} children",
                                    flags_.name, children_.size(), flags_.max_children));
    auto key = next_key_++;
    auto& c = children_.emplace(key, child{std::move(spec)}).first->second;
    auto rp = make_response_promise<caf::actor>();
    auto spawned = start_child_async(this, c.spec, [this, key, rp](caf::expected<caf::actor> r) mutable {
      auto it = children_.find(key);
      if (it == children_.end()) { // dropped by a shutdown while it was starting
        if (r)
          send_exit(*r, caf::exit_reason::kill);
        rp.deliver(make_error(sup_errc::shutting_down,
                              fmt::format("dynamic supervisor '{}' is shutting down", flags_.name)));
        return;
      }
      auto& c = it->second;
      c.pending = nullptr;
      if (!r) {
        report(event_kind::start_failed, &c, r.error());
        children_.erase(it);
        rp.deliver(r.error());
        return;
      }
      c.handle = *r;
      monitor(c.handle);
      report(event_kind::child_started, &c);
      rp.deliver(c.handle);
    });
    if (spawned) // still starting: `c` is alive until its acknowledgement
      children_.at(key).pending = spawned;
    return rp;
  }

  caf::result<caf::ok_atom> terminate(const caf::actor& who) {
    auto it = who ? find(who.address()) : children_.end();
    if (it == children_.end())
      return make_error(sup_errc::not_found,
                        fmt::format("dynamic supervisor '{}' has no such child", flags_.name));
    auto rp = make_response_promise<caf::ok_atom>();
    auto key = it->first;
    terminator_.stop(it->second.handle, it->second.spec.effective_shutdown(),
                     [this, key, rp](const stop_result& r) mutable {
                       if (auto it = children_.find(key); it != children_.end()) {
                         if (!r.as_expected)
                           report(event_kind::shutdown_error, &it->second, r.reason);
                         report(event_kind::child_terminated, &it->second, r.reason);
                         children_.erase(it); // terminate_child also deletes the spec
                       }
                       rp.deliver(caf::ok_atom::value);
                     });
    return rp;
  }

  std::vector<child_info> which_children() const {
    std::vector<child_info> out;
    for (auto& [key, c] : children_)
      out.push_back(c.info());
    return out;
  }

  child_counts count_children() const {
    child_counts n;
    for (auto& [key, c] : children_)
      c.count_into(n);
    return n;
  }

  void on_down(caf::down_msg& dm) {
    if (terminator_.on_down(dm))
      return;
    auto it = find(dm.source);
    if (it == children_.end())
      return;
    auto& c = it->second;
    report(event_kind::child_exited, &c, dm.reason);
    c.handle = nullptr;
    if (stopping_)
      return;
    auto cls = classify(dm.reason);
    bool restart = c.spec.restart == restart_type::permanent
                   || (c.spec.restart == restart_type::transient && !is_clean(cls));
    if (!restart) {
      children_.erase(it); // dynamic children leave no spec behind
      return;
    }
    c.restarting = true;
    restart_with_intensity(it->first);
  }

  void retry(uint64_t key) {
    auto it = children_.find(key);
    if (stopping_ || it == children_.end() || !it->second.restarting)
      return;
    restart_with_intensity(key);
  }

  void restart_with_intensity(uint64_t key) {
    auto& c = children_.at(key);
    if (!intensity_.add_restart(clock().now())) {
      report(event_kind::intensity_exceeded, &c, caf::exit_reason::user_shutdown);
      begin_shutdown(caf::exit_reason::user_shutdown);
      return;
    }
    auto spawned = start_child_async(this, c.spec, [this, key](caf::expected<caf::actor> r) {
      auto it = children_.find(key);
      if (it == children_.end()) {
        if (r)
          send_exit(*r, caf::exit_reason::kill);
        return;
      }
      auto& c = it->second;
      c.pending = nullptr;
      if (stopping_) {
        if (r)
          send_exit(*r, caf::exit_reason::kill);
        return;
      }
      if (!r) {
        report(event_kind::start_failed, &c, r.error());
        // Let other messages (a shutdown, a terminate) in before trying again.
        send(caf::actor_cast<caf::actor>(this), retry_restart_atom::value, key);
        return;
      }
      c.handle = *r;
      c.restarting = false;
      c.restarts++;
      monitor(c.handle);
      report(event_kind::child_restarted, &c);
    });
    if (spawned)
      children_.at(key).pending = spawned;
  }

  void begin_shutdown(caf::error reason) {
    if (stopping_)
      return;
    stopping_ = true;
    exit_reason_ = std::move(reason);
    // A child still starting is killed: it never became a running child.
    for (auto it = children_.begin(); it != children_.end();) {
      if (it->second.pending) {
        send_exit(it->second.pending, caf::exit_reason::kill);
        it = children_.erase(it);
      } else {
        ++it;
      }
    }
    // Elixir's DynamicSupervisor stops all children at once, each with its own timeout.
    for (auto& [key, c] : children_) {
      if (!c.handle)
        continue;
      terminator_.stop(c.handle, c.spec.effective_shutdown(),
                       [this, key = key](const stop_result& r) {
                         if (auto it = children_.find(key); it != children_.end()) {
                           if (!r.as_expected)
                             report(event_kind::shutdown_error, &it->second, r.reason);
                           report(event_kind::child_terminated, &it->second, r.reason);
                           it->second.handle = nullptr;
                         }
                         finish_if_done();
                       });
    }
    finish_if_done();
  }

  void finish_if_done() {
    if (terminator_.pending() > 0)
      return;
    report(event_kind::supervisor_stopped, nullptr, exit_reason_);
    quit(exit_reason_);
  }

  dynamic_supervisor_flags flags_;
  restart_intensity intensity_;
  child_terminator terminator_;
  std::map<uint64_t, child> children_;  // key order = start order
  uint64_t next_key_ = 1;
  bool stopping_ = false;
  caf::error exit_reason_;
};

} // namespace

caf::expected<caf::actor> spawn_dynamic_supervisor(caf::actor_system& sys,
                                                   dynamic_supervisor_flags flags) {
  if (auto err = validate(flags))
    return err;
  return sys.spawn<dynamic_supervisor_actor>(std::move(flags));
}

child_spec dynamic_supervisor_child(std::string id, dynamic_supervisor_flags flags,
                                    restart_type restart) {
  child_spec spec;
  spec.id = std::move(id);
  spec.restart = restart;
  spec.kind = child_kind::supervisor;
  spec.shutdown = shutdown_spec::infinity();
  spec.acknowledges_start = true;
  spec.start = [flags = std::move(flags)](caf::actor_system& sys) {
    return spawn_dynamic_supervisor(sys, flags);
  };
  return spec;
}

} // namespace snakepit::supervision
