#include "actors/tool_registry.hpp"

#include <algorithm>
#include <exception>

#include <caf/all.hpp>
#include <fmt/format.h>

namespace snakepit::detail {

namespace {

using namespace std::chrono_literals;

tool_info info_of(const host_tool& t) {
  tool_info i;
  i.name = t.name;
  i.description = t.description;
  i.parameters = t.parameters;
  i.from = tool_info::origin::host;
  return i;
}

caf::behavior tool_registry(caf::event_based_actor*, std::shared_ptr<host_tool_table> table) {
  return {
    [table](register_tool_atom, host_tool& tool) -> result<void> {
      if (auto ok = validate(tool); !ok)
        return ok;
      if (table->tools.count(tool.name))
        return error{errc::already_exists,
                     fmt::format("a host tool named '{}' is already registered", tool.name)};
      auto name = tool.name;
      table->tools.emplace(std::move(name), std::move(tool));
      return {};
    },
    [table](unregister_tool_atom, const std::string& name) -> result<void> {
      if (table->tools.erase(name) == 0)
        return error{errc::unknown_command, fmt::format("no host tool named '{}'", name)};
      return {};
    },
    [table](list_tools_atom) {
      std::vector<tool_info> out;
      for (auto& [name, tool] : table->tools)
        out.push_back(info_of(tool));
      std::vector<tool_info> python;
      for (auto& [source, tools] : table->reported)
        python.insert(python.end(), tools.begin(), tools.end());
      std::sort(python.begin(), python.end(),
                [](const tool_info& a, const tool_info& b) { return a.name < b.name; });
      out.insert(out.end(), python.begin(), python.end());
      return out;
    },
    [table](python_tools_atom, const std::string& source, std::vector<tool_info>& tools) {
      table->reported[source] = std::move(tools);
    },
    [table](call_tool_atom, const std::string& name, const nlohmann::json& args,
            const std::string& session_id) -> result<nlohmann::json> {
      auto it = table->tools.find(name);
      if (it == table->tools.end())
        return error{errc::unknown_command, fmt::format("no host tool named '{}'", name)};
      // A host tool is the host program's code: its exception is its error,
      // reported to the caller, and must not end the registry.
      try {
        return it->second.function(args, host_tool_call{session_id});
      } catch (const std::exception& e) {
        return error{errc::internal, fmt::format("host tool '{}' threw: {}", name, e.what())};
      }
    },
  };
}

} // namespace

supervision::child_spec tool_registry_child(std::shared_ptr<host_tool_table> table) {
  supervision::child_spec spec;
  spec.id = "tool_registry";
  spec.restart = supervision::restart_type::permanent;
  spec.shutdown = supervision::shutdown_spec::timeout(5s);
  spec.start = [table = std::move(table)](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn<caf::detached>(tool_registry, table);
  };
  return spec;
}

} // namespace snakepit::detail
