#pragma once
// The runtime facade's side of sessions and host tools: blocking calls from
// host threads into the session store, the sessions and the tool registry,
// each bounded by a deadline. Not for actors (they would block a scheduler
// thread): actors talk to the store directly.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/current_actor.hpp"
#include "actors/error.hpp"
#include "actors/host_tool.hpp"
#include "actors/runtime.hpp"
#include "actors/session_event.hpp"
#include "actors/session_protocol.hpp"
#include "actors/session_variable.hpp"

namespace snakepit::detail {

class session_client {
public:
  session_client(caf::actor_system& sys, std::shared_ptr<current_actor> store,
                 std::shared_ptr<current_actor> tools,
                 std::function<std::optional<error>()> not_usable);

  result<void> create(const std::string& id);
  result<void> ensure(const std::string& id);
  result<session_info> info(const std::string& id);
  std::vector<std::string> list();
  result<void> pause(const std::string& id);
  result<void> resume(const std::string& id);
  result<void> close(const std::string& id);

  result<variable> register_variable(const std::string& id, session_protocol::register_variable_request r);
  result<variable> get(const std::string& id, std::string name);
  result<variable> set(const std::string& id, session_protocol::set_variable_request r);
  result<variable> increment(const std::string& id, session_protocol::increment_request r);
  result<void> remove(const std::string& id, std::string name);
  result<std::vector<variable>> list_variables(const std::string& id);
  result<std::vector<variable>> get_many(const std::string& id, std::vector<std::string> names);
  result<std::vector<variable>> set_many(const std::string& id, session_protocol::set_many_request r);

  result<runtime::subscription> subscribe(const std::string& id,
                                          std::function<void(const session_event&)> on_event);

  result<void> register_tool(host_tool tool);
  result<void> unregister_tool(const std::string& name);
  std::vector<tool_info> list_tools();

private:
  template <class T, class... Ts>
  result<T> ask(const caf::actor& dest, Ts&&... xs);
  result<caf::actor> lookup(const std::string& id);
  template <class T, class... Ts>
  result<T> ask_session(const std::string& id, Ts&&... xs);

  caf::actor_system& sys_;
  std::shared_ptr<current_actor> store_;
  std::shared_ptr<current_actor> tools_;
  std::function<std::optional<error>()> not_usable_;
};

} // namespace snakepit::detail
