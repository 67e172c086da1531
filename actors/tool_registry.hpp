#pragma once
// tool_registry: the actor in the tree that holds the host-side tools Python
// may call. It runs on its own thread (detached), so a host tool that blocks
// briefly holds no scheduler thread; calls run one at a time, in order.
//
//   register_tool_atom, host_tool        -> result<void> (already_exists, invalid_argument)
//   unregister_tool_atom, name           -> result<void> (unknown_command)
//   list_tools_atom                      -> std::vector<tool_info>: host tools, by name, then
//                                           the tools workers reported, by name
//   python_tools_atom, source, tools     (from a worker that started: what its process
//                                           offers; `source` names adapter and module)
//   call_tool_atom, name, json, session  -> result<json> (unknown_command, the tool's error)

#include <map>
#include <memory>
#include <string>

#include <caf/atom.hpp>

#include "actors/host_tool.hpp"
#include "actors/message_types.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit::detail {

using register_tool_atom = caf::atom_constant<caf::atom("tool_reg")>;
using unregister_tool_atom = caf::atom_constant<caf::atom("tool_unreg")>;
using list_tools_atom = caf::atom_constant<caf::atom("tool_list")>;
using call_tool_atom = caf::atom_constant<caf::atom("tool_call")>;
using python_tools_atom = caf::atom_constant<caf::atom("tool_py")>;

/// The registered tools. Owned by the runtime and handed to each incarnation
/// of the actor, so a restart of the registry forgets none; only the actor
/// touches it (one incarnation at a time).
struct host_tool_table {
  std::map<std::string, host_tool> tools;
  /// What workers reported, by source (adapter:module): every worker of a
  /// pool runs the same adapter, so one list per source.
  std::map<std::string, std::vector<tool_info>> reported;
};

/// A permanent worker-kind child.
supervision::child_spec tool_registry_child(std::shared_ptr<host_tool_table> table);

} // namespace snakepit::detail

