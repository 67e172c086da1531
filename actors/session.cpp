#include "actors/session.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/pool_error.hpp"
#include "actors/session_protocol.hpp"
#include "actors/session_state.hpp"
#include "actors/variable_store.hpp"

namespace snakepit {

namespace {

using namespace session_protocol;
using kind = session_event_kind;
using time_point = std::chrono::system_clock::time_point;

session_options with_default_clock(session_options o) {
  if (!o.clock)
    o.clock = [] { return std::chrono::system_clock::now(); };
  return o;
}

class session_actor : public caf::event_based_actor {
public:
  session_actor(caf::actor_config& cfg, session_options opts)
    : caf::event_based_actor(cfg),
      opts_(with_default_clock(std::move(opts))),
      store_(opts_.max_variables, opts_.clock) {
  }

  caf::behavior make_behavior() override {
    created_at_ = last_activity_ = now();
    emit(kind::created, "");
    move_to(session_state::active);
    emit(kind::activated, "");

    set_down_handler([this](caf::down_msg& dm) { drop_subscriber(dm.source); });
    set_exit_handler([this](caf::exit_msg& em) {
      // OTP: a `normal` exit signal is not a request to stop.
      if (!em.reason || em.reason == caf::exit_reason::normal)
        return;
      finish_cleanup("stopped: " + to_string(em.reason));
      quit(std::move(em.reason));
    });

    return {
      // --- variable commands -------------------------------------------------
      [this](register_var_atom, register_variable_request& r) {
        return command<variable>("register " + r.name, [&] {
          return store_.register_variable(std::move(r.name), r.type, std::move(r.value),
                                          std::move(r.constraints));
        });
      },
      [this](get_var_atom, const std::string& name) {
        return command<variable>("get " + name, [&] { return store_.get(name); });
      },
      [this](set_var_atom, set_variable_request& r) {
        return command<variable>("set " + r.name, [&] {
          return store_.set(r.name, std::move(r.value), r.expected_version);
        });
      },
      [this](increment_var_atom, const increment_request& r) {
        return command<variable>("increment " + r.name,
                                 [&] { return store_.increment(r.name, r.delta); });
      },
      [this](remove_var_atom, const std::string& name) {
        return command<void>("remove " + name, [&] { return store_.remove(name); });
      },
      [this](get_many_atom, const std::vector<std::string>& names) {
        return command<std::vector<variable>>("get_many", [&] { return store_.get_many(names); });
      },
      [this](set_many_atom, set_many_request& r) {
        return command<std::vector<variable>>(
          "set_many", [&] { return store_.set_many(std::move(r.writes)); });
      },
      [this](list_vars_atom) {
        return command<std::vector<variable>>(
          "list", [&] { return result<std::vector<variable>>{store_.list()}; });
      },
      [this](touch_atom) { return command<void>("touch", [] { return result<void>{}; }); },

      // --- lifecycle ---------------------------------------------------------
      [this](pause_atom) { return change_state(session_state::paused, kind::paused); },
      [this](resume_atom) { return change_state(session_state::active, kind::resumed); },
      [this](close_atom) { return begin_cleanup("closed", false); },
      [this](expire_atom) { return begin_cleanup("expired", true); },
      [this](finish_cleanup_atom, const std::string& why) {
        if (state_ != session_state::cleanup)
          return;  // only ever sent by ourselves, once
        finish_cleanup(why);
        quit();
      },

      // --- in every state ----------------------------------------------------
      [this](info_atom) { return result<session_info>{info()}; },
      [this](subscribe_atom, const caf::actor& who) { return subscribe(who); },
      [this](unsubscribe_atom, const caf::actor& who) { return unsubscribe(who); },
    };
  }

  void on_exit() override {
    // Subscribers may hold our handle too: no cycle may outlive us.
    subscribers_.clear();
  }

private:
  time_point now() const {
    return opts_.clock();
  }

  /// Runs a variable command if the session is active: counts it, refreshes
  /// activity and reports it; refuses it otherwise, changing nothing.
  template <class T, class F>
  result<T> command(std::string detail, F&& run) {
    if (auto ok = check_accepts_commands(opts_.id, state_); !ok)
      return refuse<T>(ok.error());
    ++command_count_;
    last_activity_ = now();
    result<T> out = run();
    emit(kind::command_processed, std::move(detail));
    if (!out)
      emit(kind::error, "", out.error());
    return out;
  }

  template <class T>
  result<T> refuse(error e) {
    emit(kind::error, "", e);
    return e;
  }

  result<void> change_state(session_state to, kind what) {
    if (auto ok = check_transition(opts_.id, state_, to); !ok)
      return refuse<void>(ok.error());
    move_to(to);
    emit(what, "");
    return {};
  }

  /// close and expire: answer now, clean up after the requests already
  /// queued (they see cleanup and are refused).
  result<void> begin_cleanup(const std::string& why, bool expired) {
    if (auto ok = check_transition(opts_.id, state_, session_state::cleanup); !ok)
      return refuse<void>(ok.error());
    if (expired)
      emit(kind::expired, "");
    move_to(session_state::cleanup);
    send(caf::actor_cast<caf::actor>(this), finish_cleanup_atom::value, why);
    return {};
  }

  /// cleanup → terminated: variables gone, the last event out. The caller quits.
  void finish_cleanup(const std::string& why) {
    if (state_ == session_state::terminated)
      return;
    if (state_ != session_state::cleanup)
      move_to(session_state::cleanup);
    store_.clear();
    move_to(session_state::terminated);
    emit(kind::terminated, why);
    for (auto& sub : subscribers_)
      demonitor(sub);
    subscribers_.clear();
  }

  /// Callers have checked the edge (check_transition), except the exit
  /// handler, which may end the session from any state.
  void move_to(session_state to) {
    state_ = to;
  }

  session_info info() const {
    return session_info{opts_.id,      state_,        created_at_,        last_activity_,
                        command_count_, store_.size(), subscribers_.size()};
  }

  result<void> subscribe(const caf::actor& who) {
    if (!who)
      return refuse<void>(error{errc::invalid_argument,
                                "session " + opts_.id + ": subscribe needs an actor handle"});
    if (std::find(subscribers_.begin(), subscribers_.end(), who) == subscribers_.end()) {
      subscribers_.push_back(who);
      monitor(who);  // a dead subscriber is dropped in the down handler
    }
    return {};
  }

  /// Idempotent: unsubscribing twice, or an actor never subscribed, is fine.
  result<void> unsubscribe(const caf::actor& who) {
    auto it = std::find(subscribers_.begin(), subscribers_.end(), who);
    if (it != subscribers_.end()) {
      demonitor(*it);
      subscribers_.erase(it);
    }
    return {};
  }

  void drop_subscriber(const caf::actor_addr& who) {
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      [&](const caf::actor& s) { return s.address() == who; }),
                       subscribers_.end());
  }

  void emit(kind k, std::string detail, std::optional<error> err = std::nullopt) {
    session_event ev{opts_.id, k, std::move(detail), std::move(err), now()};
    if (opts_.observer)
      opts_.observer(ev);
    // Anonymous: whatever a subscriber does with an event, nothing comes back.
    for (auto& sub : subscribers_)
      caf::anon_send(sub, ev);
  }

  session_options opts_;
  variable_store store_;
  session_state state_ = session_state::initializing;
  time_point created_at_{};
  time_point last_activity_{};
  uint64_t command_count_ = 0;
  std::vector<caf::actor> subscribers_;
};

} // namespace

caf::actor spawn_session(caf::actor_system& sys, session_options options) {
  return sys.spawn<session_actor>(std::move(options));
}

supervision::child_spec session_child_spec(session_options options) {
  supervision::child_spec spec;
  spec.id = "session:" + options.id;
  spec.restart = supervision::restart_type::transient;
  spec.start = [options = std::move(options)](caf::actor_system& sys) -> caf::expected<caf::actor> {
    if (options.id.empty())
      return to_caf_error(error{errc::invalid_argument, "a session needs a non-empty id"});
    return spawn_session(sys, options);
  };
  return spec;
}

} // namespace snakepit
