#pragma once
// Tools both ways (the seed's bidirectional tool bridge): a host program
// registers C++ functions that Python tools may call through
// SessionContext.call_host_tool, and the runtime lists every tool, host or
// Python, with its parameters.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"

namespace snakepit {

/// What a host tool learns about the call.
struct host_tool_call {
  std::string session_id;  // the calling Python tool's session; empty if none
};

/// Runs on the tool registry's own thread, one call at a time: it may block
/// briefly, but a long computation holds back every other host tool call.
/// An exception escaping it is reported to Python as a python-side
/// HostToolError with the exception's message; the host is not affected.
using host_tool_function = std::function<result<nlohmann::json>(const nlohmann::json& args,
                                                                 const host_tool_call& call)>;

struct tool_parameter {
  std::string name;
  std::string type;       // free text, e.g. "int", "str", "list[float]"
  bool required = true;
};

struct host_tool {
  std::string name;        // [A-Za-z_][A-Za-z0-9_.]*
  std::string description;
  std::vector<tool_parameter> parameters;
  host_tool_function function;
};

/// One entry of runtime::list_tools.
struct tool_info {
  enum class origin { python, host };
  std::string name;
  std::string description;
  std::vector<tool_parameter> parameters;
  bool streaming = false;
  origin from = origin::python;
};

const char* to_string(tool_info::origin o);

/// invalid_argument naming the rule, for a name, description or function
/// that cannot be registered.
result<void> validate(const host_tool& tool);

} // namespace snakepit
