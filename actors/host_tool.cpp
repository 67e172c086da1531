#include "actors/host_tool.hpp"

#include <fmt/format.h>

namespace snakepit {

const char* to_string(tool_info::origin o) {
  switch (o) {
    case tool_info::origin::python: return "python";
    case tool_info::origin::host: return "host";
  }
  return "unknown";
}

namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return false;
  auto head = [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto tail = [&](char c) { return head(c) || c == '.' || (c >= '0' && c <= '9'); };
  if (!head(name[0]))
    return false;
  for (char c : name)
    if (!tail(c))
      return false;
  return true;
}

} // namespace

result<void> validate(const host_tool& tool) {
  auto bad = [](std::string msg) { return result<void>{error{errc::invalid_argument, std::move(msg)}}; };
  if (!valid_name(tool.name))
    return bad(fmt::format("host tool name '{}' must match [A-Za-z_][A-Za-z0-9_.]* (at most 128)",
                           tool.name));
  if (!tool.function)
    return bad(fmt::format("host tool '{}' has no function", tool.name));
  for (auto& p : tool.parameters)
    if (!valid_name(p.name))
      return bad(fmt::format("host tool '{}': parameter name '{}' is not an identifier", tool.name,
                             p.name));
  return {};
}

} // namespace snakepit
