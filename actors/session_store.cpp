#include "actors/session_store.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/pool_error.hpp"
#include "actors/session.hpp"
#include "actors/session_protocol.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "supervision/supervision_messages.hpp"
#include "supervision/supervisor.hpp"

namespace snakepit {

namespace {

using namespace std::chrono_literals;
namespace sp = session_protocol;
namespace sv = supervision;

/// (id, actor): a session's start function announces each incarnation.
using session_up_atom = caf::atom_constant<caf::atom("st_up")>;
using reaper_tick_atom = caf::atom_constant<caf::atom("st_tick")>;

// Every wait on another actor has a deadline (DESIGN rule 4).
constexpr auto ask_timeout = 5s;

error no_session(const std::string& id) {
  return error{errc::session_not_found, fmt::format("no session '{}'", id)};
}

class session_store_actor : public caf::event_based_actor {
public:
  session_store_actor(caf::actor_config& cfg, session_store_options opts,
                      std::shared_ptr<detail::current_actor> supervisor)
    : caf::event_based_actor(cfg), opts_(std::move(opts)), supervisor_(std::move(supervisor)) {}

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    return {
      [this](store_create_atom, const std::string& id) -> caf::result<result<void>> {
        if (auto ok = admit(id); !ok)
          return ok;
        auto rp = make_response_promise<result<void>>();
        create(id, [rp](result<void> r) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      [this](store_ensure_atom, const std::string& id) -> caf::result<result<void>> {
        auto rp = make_response_promise<result<void>>();
        ensure(id, [rp](result<void> r) mutable { rp.deliver(std::move(r)); });
        return rp;
      },
      [this](store_ensure_atom, const std::string& id, ensure_done& done) {
        ensure(id, std::move(done));
      },
      [this](store_lookup_atom, const std::string& id) -> result<caf::actor> {
        if (auto it = live_.find(id); it != live_.end())
          return it->second;
        return no_session(id);
      },
      [this](store_close_atom, const std::string& id) -> caf::result<result<void>> {
        auto it = live_.find(id);
        if (it == live_.end())
          return result<void>{no_session(id)};
        // Answered once the session has ended (its cleanup done, its id
        // free): whoever closed it never sees it listed afterwards.
        auto rp = make_response_promise<result<void>>();
        auto session = it->second;
        request(session, ask_timeout, sp::close_atom::value)
          .then(
            [this, rp, id, session](result<void>& r) mutable {
              if (!r) {
                rp.deliver(std::move(r));
                return;
              }
              auto live = live_.find(id);
              if (live == live_.end() || live->second != session) {
                rp.deliver(result<void>{});  // already gone
                return;
              }
              closing_[session.id()].push_back(rp);
            },
            [rp, id](caf::error&) mutable { rp.deliver(result<void>{no_session(id)}); });
        return rp;
      },
      [this](store_list_atom) {
        std::vector<std::string> ids;
        ids.reserve(live_.size());
        for (auto& [id, _] : live_)
          ids.push_back(id);
        std::sort(ids.begin(), ids.end());
        return ids;
      },
      [this](store_reap_atom) -> caf::result<std::size_t> { return reap(); },
      [this](session_up_atom, const std::string& id, caf::actor& session) {
        adopt(id, std::move(session));
      },
    };
  }

private:
  using done_fn = std::function<void(result<void>)>;

  std::chrono::system_clock::time_point now() const {
    return opts_.clock ? opts_.clock() : std::chrono::system_clock::now();
  }

  result<void> admit(const std::string& id) const {
    if (auto ok = validate_session_id(id); !ok)
      return ok;
    if (live_.count(id) || creating_.count(id))
      return error{errc::already_exists, fmt::format("session '{}' exists already", id)};
    if (live_.size() + creating_.size() >= opts_.max_sessions)
      return error{errc::session_limit,
                   fmt::format("{} sessions exist: the limit (max_sessions)", opts_.max_sessions)};
    return {};
  }

  void ensure(const std::string& id, ensure_done rp) {
    auto touch = [this, id, rp](result<void> created) mutable {
      if (!created) {
        rp(std::move(created));
        return;
      }
      auto it = live_.find(id);
      if (it == live_.end()) {
        rp(result<void>{no_session(id)});
        return;
      }
      request(it->second, ask_timeout, sp::touch_atom::value)
        .then([rp](result<void>& r) mutable { rp(std::move(r)); },
              [rp, id](caf::error&) mutable { rp(result<void>{no_session(id)}); });
    };
    if (live_.count(id)) {
      touch({});
      return;
    }
    if (auto c = creating_.find(id); c != creating_.end()) {
      c->second.push_back(std::move(touch));
      return;
    }
    if (auto ok = admit(id); !ok) {
      rp(std::move(ok));
      return;
    }
    create(id, std::move(touch));
  }

  void create(const std::string& id, done_fn done) {
    creating_[id].push_back(std::move(done));
    auto sup = supervisor_->get();
    if (!sup) {
      finish_create(id, error{errc::shutting_down, "the session supervisor is not running"});
      return;
    }
    session_options so;
    so.id = id;
    so.max_variables = opts_.max_variables;
    so.clock = opts_.clock;
    so.observer = opts_.observer;
    auto spec = session_child_spec(so);
    // Each incarnation (the first start, and every restart after a crash)
    // tells the store its handle.
    spec.start = [start = spec.start, store = caf::actor_cast<caf::actor>(this),
                  id](caf::actor_system& sys) -> caf::expected<caf::actor> {
      auto a = start(sys);
      if (a)
        caf::anon_send(store, session_up_atom::value, id, *a);
      return a;
    };
    request(sup, ask_timeout, sv::start_child_atom::value, std::move(spec))
      .then(
        [this, id](caf::actor& a) {
          adopt(id, a);
          finish_create(id, {});
        },
        [this, id](caf::error& e) { finish_create(id, from_caf_error(e)); });
  }

  void finish_create(const std::string& id, result<void> r) {
    auto it = creating_.find(id);
    if (it == creating_.end())
      return;
    auto waiters = std::move(it->second);
    creating_.erase(it);
    for (auto& w : waiters)
      w(r);
  }

  void adopt(const std::string& id, caf::actor session) {
    auto& slot = live_[id];
    if (slot == session)
      return;
    slot = session;
    ids_by_actor_[session.id()] = id;
    monitor(session);
  }

  // A session that ended is forgotten at once: closed or expired, its id is
  // free again; crashed, its restart announces the new handle.
  void on_down(const caf::down_msg& dm) {
    auto who = ids_by_actor_.find(dm.source.id());
    if (who == ids_by_actor_.end())
      return;
    auto id = who->second;
    ids_by_actor_.erase(who);
    if (auto it = live_.find(id); it != live_.end() && it->second.address() == dm.source)
      live_.erase(it);
    if (auto c = closing_.find(dm.source.id()); c != closing_.end()) {
      for (auto& rp : c->second)
        rp.deliver(result<void>{});
      closing_.erase(c);
    }
  }

  caf::result<std::size_t> reap() {
    if (live_.empty())
      return std::size_t{0};
    struct scan {
      std::size_t pending = 0;
      std::size_t expired = 0;
      caf::typed_response_promise<std::size_t> rp;
    };
    auto s = std::make_shared<scan>();
    s->pending = live_.size();
    s->rp = make_response_promise<std::size_t>();
    auto cutoff = now() - opts_.ttl;
    auto one_done = [s] {
      if (--s->pending == 0)
        s->rp.deliver(s->expired);
    };
    for (auto& [id, session] : live_) {
      auto handle = session;
      request(handle, ask_timeout, sp::info_atom::value)
        .then(
          [this, s, handle, cutoff, one_done](result<session_info>& info) {
            bool idle = info && info->last_activity < cutoff
                        && (info->state == session_state::active
                            || info->state == session_state::paused);
            if (!idle) {
              one_done();
              return;
            }
            request(handle, ask_timeout, sp::expire_atom::value)
              .then([s, one_done](result<void>& r) {
                      if (r)
                        ++s->expired;
                      one_done();
                    },
                    [one_done](caf::error&) { one_done(); });
          },
          [one_done](caf::error&) { one_done(); });
    }
    return s->rp;
  }

  session_store_options opts_;
  std::shared_ptr<detail::current_actor> supervisor_;
  std::unordered_map<std::string, caf::actor> live_;
  std::unordered_map<caf::actor_id, std::string> ids_by_actor_;
  std::unordered_map<std::string, std::vector<done_fn>> creating_;
  /// close requests answered when their session's down message arrives
  std::unordered_map<caf::actor_id, std::vector<caf::typed_response_promise<result<void>>>> closing_;
};

caf::behavior session_reaper(caf::event_based_actor* self, std::chrono::milliseconds interval,
                             std::shared_ptr<detail::current_actor> store) {
  self->delayed_send(self, interval, reaper_tick_atom::value);
  return {
    [=](reaper_tick_atom) {
      if (auto s = store->get())
        self->request(s, ask_timeout, store_reap_atom::value)
          .then([](std::size_t) {}, [](caf::error&) { /* the store restarts: next tick */ });
      self->delayed_send(self, interval, reaper_tick_atom::value);
    },
  };
}

} // namespace

result<void> validate_session_id(const std::string& id) {
  if (id.empty() || id.size() > 256)
    return error{errc::invalid_argument, "a session id has 1 to 256 characters"};
  for (unsigned char c : id)
    if (c <= ' ' || c >= 127)
      return error{errc::invalid_argument,
                   fmt::format("session id '{}': only printable ASCII, no spaces", id)};
  return {};
}

supervision::child_spec sessions_child(session_store_options options,
                                       std::shared_ptr<detail::current_actor> store) {
  auto supervisor = std::make_shared<detail::current_actor>();

  sv::dynamic_supervisor_flags dflags;
  dflags.name = "session_supervisor";
  dflags.intensity = options.session_restarts;
  dflags.observer = options.supervision_observer;
  auto sup_spec = sv::dynamic_supervisor_child("session_supervisor", dflags);
  sup_spec.start = [start = sup_spec.start, supervisor](caf::actor_system& sys) {
    auto a = start(sys);
    if (a)
      supervisor->set(*a);
    return a;
  };

  sv::child_spec store_spec;
  store_spec.id = "session_store";
  store_spec.start = [options, supervisor, store](caf::actor_system& sys)
    -> caf::expected<caf::actor> {
    auto a = sys.spawn<session_store_actor>(options, supervisor);
    store->set(a);
    return a;
  };

  sv::child_spec reaper_spec;
  reaper_spec.id = "session_reaper";
  reaper_spec.start = [interval = options.reap_interval, store](caf::actor_system& sys)
    -> caf::expected<caf::actor> { return sys.spawn(session_reaper, interval, store); };

  sv::supervisor_flags flags;
  flags.name = "sessions";
  flags.strategy = sv::restart_strategy::one_for_all;
  flags.intensity = {3, std::chrono::seconds(5)};
  flags.observer = options.supervision_observer;
  return sv::supervisor_child("sessions", flags, {sup_spec, store_spec, reaper_spec});
}

} // namespace snakepit
