#include "actors/bridge_server_actor.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/bridge_translation.hpp"
#include "actors/message_types.hpp"
#include "actors/pool_error.hpp"
#include "actors/session_protocol.hpp"
#include "actors/session_store.hpp"
#include "actors/tool_registry.hpp"
#include "transport/bridge_server.hpp"
#include "transport/value_codec.hpp"

// Local messages from gRPC threads to the bridge actor.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::bridge::v1::SessionRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::bridge::v1::HostToolCall)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<void(snakepit::bridge::v1::SessionReply)>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<void(snakepit::bridge::v1::HostToolReply)>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<void(snakepit::bridge::v1::HostToolList)>)

namespace snakepit::detail {

namespace {

using namespace std::chrono_literals;
namespace tp = snakepit::transport;
namespace sp = snakepit::session_protocol;

using bridge_session_atom = caf::atom_constant<caf::atom("br_sess")>;
using bridge_tool_atom = caf::atom_constant<caf::atom("br_tool")>;
using bridge_tools_atom = caf::atom_constant<caf::atom("br_tools")>;

using session_done = std::function<void(wire::SessionReply)>;
using tool_done = std::function<void(wire::HostToolReply)>;
using tools_done = std::function<void(wire::HostToolList)>;

// The hop from a gRPC thread into the actor: one message per call. If the
// actor is between incarnations, the call is answered at once.
class actor_bridge_handler : public tp::bridge_handler {
public:
  explicit actor_bridge_handler(std::shared_ptr<current_actor> self) : self_(std::move(self)) {}

  void session(wire::SessionRequest req, session_done done) override {
    if (auto a = self_->get())
      caf::anon_send(a, bridge_session_atom::value, std::move(req), std::move(done));
    else
      done(to_reply(error{errc::shutting_down, "the host bridge is restarting"}));
  }
  void call_host_tool(wire::HostToolCall call, tool_done done) override {
    if (auto a = self_->get())
      caf::anon_send(a, bridge_tool_atom::value, std::move(call), std::move(done));
    else
      done(to_tool_reply(error{errc::shutting_down, "the host bridge is restarting"}));
  }
  void list_host_tools(tools_done done) override {
    if (auto a = self_->get())
      caf::anon_send(a, bridge_tools_atom::value, std::move(done));
    else
      done({});
  }

private:
  std::shared_ptr<current_actor> self_;
};

// The calls the bridge makes are bounded by the server's request deadline;
// asking an actor gets a little less, so the caller hears our error rather
// than a bare DEADLINE_EXCEEDED.
constexpr auto ask_timeout = 8s;

class bridge_actor : public caf::event_based_actor {
public:
  bridge_actor(caf::actor_config& cfg, bridge_actor_options opts,
               std::unique_ptr<tp::bridge_server> server)
    : caf::event_based_actor(cfg), opts_(std::move(opts)), server_(std::move(server)) {}

  caf::behavior make_behavior() override {
    // A cached session that ended (closed, expired, crashed) is forgotten:
    // the next call asks the store again.
    set_down_handler([this](caf::down_msg& dm) {
      auto it = ids_by_actor_.find(dm.source.id());
      if (it == ids_by_actor_.end())
        return;
      if (auto c = sessions_.find(it->second); c != sessions_.end() && c->second.address() == dm.source)
        sessions_.erase(c);
      ids_by_actor_.erase(it);
    });
    return {
      [this](bridge_session_atom, wire::SessionRequest& req, session_done& done) {
        on_session(std::move(req), std::move(done));
      },
      [this](bridge_tool_atom, wire::HostToolCall& call, tool_done& done) {
        on_tool(std::move(call), std::move(done));
      },
      [this](bridge_tools_atom, tools_done& done) { on_tools(std::move(done)); },
    };
  }

  void on_exit() override {
    if (server_)
      server_->shutdown(500ms);
    server_.reset();
  }

private:
  void on_session(wire::SessionRequest req, session_done done) {
    auto store = opts_.store->get();
    if (!store) {
      done(to_reply(error{errc::shutting_down, "the session store is restarting"}));
      return;
    }
    auto id = req.session_id();
    auto op = to_session_op(std::move(req));
    if (!op) {
      done(to_reply(op.error()));
      return;
    }
    // Calls of one session come in runs (a tool's reads and writes): after
    // the first, the session is asked directly, without the store.
    if (auto c = sessions_.find(id); c != sessions_.end()) {
      run(c->second, std::move(*op), std::move(done));
      return;
    }
    request(store, ask_timeout, store_lookup_atom::value, id)
      .then(
        [this, id, done, op = std::move(*op)](result<caf::actor>& session) mutable {
          if (!session) {
            done(to_reply(session.error()));
            return;
          }
          remember(id, *session);
          run(*session, std::move(op), std::move(done));
        },
        [done](caf::error& e) { done(to_reply(from_caf_error(e))); });
  }

  void remember(const std::string& id, const caf::actor& session) {
    if (sessions_.size() >= max_cached_sessions)
      return;  // a cache, not a registry: beyond this, ask the store
    auto [it, added] = sessions_.emplace(id, session);
    if (!added)
      return;
    ids_by_actor_.emplace(session.id(), id);
    monitor(session);
  }

  // Asks the session; every answer type of the protocol becomes a reply.
  void run(const caf::actor& session, session_op op, session_done done) {
    auto one = [done](result<variable>& r) {
      done(r ? to_reply(std::vector<variable>{std::move(*r)}) : to_reply(r.error()));
    };
    auto many = [done](result<std::vector<variable>>& r) {
      done(r ? to_reply(*r) : to_reply(r.error()));
    };
    auto none = [done](result<void>& r) {
      done(r ? wire::SessionReply{} : to_reply(r.error()));
    };
    auto failed = [done](caf::error& e) {
      auto err = from_caf_error(e);
      // A session that ended between lookup and request.
      if (e == caf::sec::request_receiver_down)
        err = error{errc::session_not_found, "the session ended"};
      done(to_reply(err));
    };
    std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, get_one>)
          request(session, ask_timeout, sp::get_var_atom::value, std::move(o.name)).then(one, failed);
        else if constexpr (std::is_same_v<T, get_many>)
          request(session, ask_timeout, sp::get_many_atom::value, std::move(o.names)).then(many, failed);
        else if constexpr (std::is_same_v<T, set_one>)
          request(session, ask_timeout, sp::set_var_atom::value, std::move(o.req)).then(one, failed);
        else if constexpr (std::is_same_v<T, set_many>)
          request(session, ask_timeout, sp::set_many_atom::value, std::move(o.req)).then(many, failed);
        else if constexpr (std::is_same_v<T, register_one>)
          request(session, ask_timeout, sp::register_var_atom::value, std::move(o.req))
            .then(one, failed);
        else if constexpr (std::is_same_v<T, increment_one>)
          request(session, ask_timeout, sp::increment_var_atom::value, std::move(o.req))
            .then(one, failed);
        else if constexpr (std::is_same_v<T, remove_one>)
          request(session, ask_timeout, sp::remove_var_atom::value, std::move(o.name)).then(none, failed);
        else
          request(session, ask_timeout, sp::list_vars_atom::value).then(many, failed);
      },
      op);
  }

  void on_tool(wire::HostToolCall call, tool_done done) {
    auto tools = opts_.tools->get();
    if (!tools) {
      done(to_tool_reply(error{errc::shutting_down, "the tool registry is restarting"}));
      return;
    }
    auto args = tp::from_value_map(std::move(*call.mutable_args()));
    if (!args) {
      done(to_tool_reply(error{errc::invalid_argument, tp::to_string(args.error())}));
      return;
    }
    request(tools, ask_timeout, call_tool_atom::value, call.name(), std::move(*args),
            call.session_id())
      .then([done](result<nlohmann::json>& r) { done(to_tool_reply(r)); },
            [done](caf::error& e) { done(to_tool_reply(from_caf_error(e))); });
  }

  void on_tools(tools_done done) {
    auto tools = opts_.tools->get();
    if (!tools) {
      done({});
      return;
    }
    request(tools, ask_timeout, list_tools_atom::value)
      .then(
        [done](std::vector<tool_info>& infos) {
          wire::HostToolList out;
          for (auto& t : infos) {
            if (t.from != tool_info::origin::host)
              continue;  // Python calls its own tools directly
            auto* s = out.add_tools();
            s->set_name(t.name);
            s->set_description(t.description);
            for (auto& p : t.parameters) {
              auto* ps = s->add_parameters();
              ps->set_name(p.name);
              ps->set_annotation(p.type);
              ps->set_required(p.required);
              ps->set_kind("keyword_only");
            }
          }
          done(std::move(out));
        },
        [done](caf::error&) { done({}); });
  }

  static constexpr std::size_t max_cached_sessions = 100000;

  bridge_actor_options opts_;
  std::unique_ptr<tp::bridge_server> server_;
  std::unordered_map<std::string, caf::actor> sessions_;       // id → live session
  std::unordered_map<caf::actor_id, std::string> ids_by_actor_;
};

} // namespace

supervision::child_spec bridge_server_child(bridge_actor_options options) {
  supervision::child_spec spec;
  spec.id = "bridge_server";
  spec.restart = supervision::restart_type::permanent;
  spec.shutdown = supervision::shutdown_spec::timeout(5s);
  auto self = std::make_shared<current_actor>();
  spec.start = [options = std::move(options), self](caf::actor_system& sys)
    -> caf::expected<caf::actor> {
    tp::bridge_server_options so;
    so.address = options.address;
    so.handler = std::make_shared<actor_bridge_handler>(self);
    so.request_deadline = options.request_deadline;
    auto server = tp::bridge_server::start(so);
    if (!server)
      return to_caf_error(error{errc::startup_failed,
                                fmt::format("the host bridge cannot serve {}: {}", options.address,
                                            tp::to_string(server.error()))});
    auto a = sys.spawn<bridge_actor>(options, std::move(*server));
    self->set(a);
    return a;
  };
  return spec;
}

} // namespace snakepit::detail
