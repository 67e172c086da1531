#include "supervision/name_registry.hpp"

#include <map>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include "supervision/supervision_error.hpp"

namespace snakepit::supervision {

namespace {

struct registry_state {
  std::map<std::string, caf::actor> by_name;
  static inline const char* name = "name_registry";
};

caf::behavior name_registry(caf::stateful_actor<registry_state>* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& names = self->state.by_name;
    for (auto it = names.begin(); it != names.end();) {
      if (it->second.address() == dm.source)
        it = names.erase(it);
      else
        ++it;
    }
  });
  return {
    [self](register_name_atom, const std::string& name,
           const caf::actor& who) -> caf::result<caf::ok_atom> {
      if (name.empty() || !who)
        return make_error(sup_errc::invalid_name,
                          name.empty() ? "a name must not be empty"
                                       : fmt::format("'{}': no actor to register", name));
      auto& names = self->state.by_name;
      if (auto it = names.find(name); it != names.end())
        return make_error(sup_errc::already_registered,
                          fmt::format("'{}' is taken by actor #{}", name, it->second.id()));
      names.emplace(name, who);
      self->monitor(who); // a second monitor of the same actor is harmless
      return caf::ok_atom::value;
    },
    [self](whereis_atom, const std::string& name) -> caf::result<caf::actor> {
      auto& names = self->state.by_name;
      if (auto it = names.find(name); it != names.end())
        return it->second;
      return make_error(sup_errc::not_found, fmt::format("no actor is named '{}'", name));
    },
    [self](unregister_name_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      if (self->state.by_name.erase(name) == 0)
        return make_error(sup_errc::not_found, fmt::format("no actor is named '{}'", name));
      return caf::ok_atom::value;
    },
    [self](registered_names_atom) {
      std::vector<std::string> out;
      for (auto& [name, who] : self->state.by_name)
        out.push_back(name);
      return out;
    },
  };
}

} // namespace

caf::actor spawn_name_registry(caf::actor_system& sys) {
  return sys.spawn(name_registry);
}

} // namespace snakepit::supervision
