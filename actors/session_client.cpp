#include "actors/session_client.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/message_types.hpp"
#include "actors/pool_error.hpp"
#include "actors/session_store.hpp"
#include "actors/tool_registry.hpp"

namespace snakepit {

struct runtime::subscription::state {
  caf::actor subscriber;
};

runtime::subscription::subscription() = default;
runtime::subscription::subscription(subscription&&) noexcept = default;
runtime::subscription::subscription(std::unique_ptr<state> s) : state_(std::move(s)) {}

runtime::subscription& runtime::subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

runtime::subscription::~subscription() {
  cancel();
}

void runtime::subscription::cancel() {
  // The session monitors its subscribers: one that ends is dropped.
  if (state_ && state_->subscriber)
    caf::anon_send_exit(state_->subscriber, caf::exit_reason::user_shutdown);
  state_.reset();
}

namespace detail {

namespace {

using namespace std::chrono_literals;
namespace sp = session_protocol;

// Session commands are quick; the store creating a session waits on the
// session supervisor. Either way an answer comes well within this.
constexpr auto call_timeout = 10s;

} // namespace

session_client::session_client(caf::actor_system& sys, std::shared_ptr<current_actor> store,
                               std::shared_ptr<current_actor> tools,
                               std::function<std::optional<error>()> not_usable)
  : sys_(sys), store_(std::move(store)), tools_(std::move(tools)),
    not_usable_(std::move(not_usable)) {}

// T is what the reply's result<T> holds; a transport failure (timeout,
// an actor gone) becomes its error.
template <class T, class... Ts>
result<T> session_client::ask(const caf::actor& dest, Ts&&... xs) {
  if (auto err = not_usable_())
    return *err;
  if (!dest)
    return error{errc::shutting_down, "the session layer is restarting or stopped"};
  caf::scoped_actor self{sys_};
  std::optional<result<T>> out;
  self->request(dest, call_timeout, std::forward<Ts>(xs)...)
    .receive([&](result<T>& r) { out.emplace(std::move(r)); },
             [&](caf::error& e) {
               if (e == caf::sec::request_receiver_down)
                 out.emplace(error{errc::session_not_found, "the session ended"});
               else
                 out.emplace(from_caf_error(e));
             });
  return std::move(*out);
}

result<caf::actor> session_client::lookup(const std::string& id) {
  return ask<caf::actor>(store_->get(), store_lookup_atom::value, id);
}

template <class T, class... Ts>
result<T> session_client::ask_session(const std::string& id, Ts&&... xs) {
  auto s = lookup(id);
  if (!s)
    return s.error();
  return ask<T>(*s, std::forward<Ts>(xs)...);
}

result<void> session_client::create(const std::string& id) {
  return ask<void>(store_->get(), store_create_atom::value, id);
}

result<void> session_client::ensure(const std::string& id) {
  return ask<void>(store_->get(), store_ensure_atom::value, id);
}

result<session_info> session_client::info(const std::string& id) {
  return ask_session<session_info>(id, sp::info_atom::value);
}

std::vector<std::string> session_client::list() {
  auto store = store_->get();
  if (not_usable_() || !store)
    return {};
  caf::scoped_actor self{sys_};
  std::vector<std::string> out;
  self->request(store, call_timeout, store_list_atom::value)
    .receive([&](std::vector<std::string>& ids) { out = std::move(ids); }, [](caf::error&) {});
  return out;
}

result<void> session_client::pause(const std::string& id) {
  return ask_session<void>(id, sp::pause_atom::value);
}
result<void> session_client::resume(const std::string& id) {
  return ask_session<void>(id, sp::resume_atom::value);
}
result<void> session_client::close(const std::string& id) {
  return ask<void>(store_->get(), store_close_atom::value, id);
}

result<variable> session_client::register_variable(const std::string& id,
                                                   sp::register_variable_request r) {
  return ask_session<variable>(id, sp::register_var_atom::value, std::move(r));
}
result<variable> session_client::get(const std::string& id, std::string name) {
  return ask_session<variable>(id, sp::get_var_atom::value, std::move(name));
}
result<variable> session_client::set(const std::string& id, sp::set_variable_request r) {
  return ask_session<variable>(id, sp::set_var_atom::value, std::move(r));
}
result<variable> session_client::increment(const std::string& id, sp::increment_request r) {
  return ask_session<variable>(id, sp::increment_var_atom::value, std::move(r));
}
result<void> session_client::remove(const std::string& id, std::string name) {
  return ask_session<void>(id, sp::remove_var_atom::value, std::move(name));
}
result<std::vector<variable>> session_client::list_variables(const std::string& id) {
  return ask_session<std::vector<variable>>(id, sp::list_vars_atom::value);
}
result<std::vector<variable>> session_client::get_many(const std::string& id,
                                                       std::vector<std::string> names) {
  return ask_session<std::vector<variable>>(id, sp::get_many_atom::value, std::move(names));
}
result<std::vector<variable>> session_client::set_many(const std::string& id,
                                                       sp::set_many_request r) {
  return ask_session<std::vector<variable>>(id, sp::set_many_atom::value, std::move(r));
}

result<runtime::subscription>
session_client::subscribe(const std::string& id, std::function<void(const session_event&)> on_event) {
  if (!on_event)
    return error{errc::invalid_argument, "subscribe needs a callback"};
  auto session = lookup(id);
  if (!session)
    return session.error();
  // Ends with the session (its last event, terminated, arrives first) or
  // when the subscription is cancelled.
  auto subscriber = sys_.spawn([on_event, session = *session](caf::event_based_actor* self) {
    self->monitor(session);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    return caf::behavior{[on_event](const session_event& ev) { on_event(ev); }};
  });
  auto ok = ask<void>(*session, sp::subscribe_atom::value, subscriber);
  if (!ok) {
    caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
    return ok.error();
  }
  auto st = std::make_unique<runtime::subscription::state>();
  st->subscriber = subscriber;
  return runtime::subscription{std::move(st)};
}

result<void> session_client::register_tool(host_tool tool) {
  return ask<void>(tools_->get(), register_tool_atom::value, std::move(tool));
}

result<void> session_client::unregister_tool(const std::string& name) {
  return ask<void>(tools_->get(), unregister_tool_atom::value, name);
}

std::vector<tool_info> session_client::list_tools() {
  auto tools = tools_->get();
  if (not_usable_() || !tools)
    return {};
  caf::scoped_actor self{sys_};
  std::vector<tool_info> out;
  self->request(tools, call_timeout, list_tools_atom::value)
    .receive([&](std::vector<tool_info>& t) { out = std::move(t); }, [](caf::error&) {});
  return out;
}

} // namespace detail
} // namespace snakepit
