#include "actors/call_size.hpp"

namespace snakepit::detail {

std::size_t estimate_bytes(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return j.get_ref<const std::string&>().size() + 2;
    case nlohmann::json::value_t::binary:
      return j.get_binary().size() + 2;
    case nlohmann::json::value_t::object: {
      std::size_t n = 2;
      for (auto it = j.begin(); it != j.end(); ++it)
        n += it.key().size() + 2 + estimate_bytes(it.value());
      return n;
    }
    case nlohmann::json::value_t::array: {
      std::size_t n = 2;
      for (auto& v : j)
        n += estimate_bytes(v);
      return n;
    }
    default:
      return 8;
  }
}

std::size_t estimate_bytes(const call& c) {
  std::size_t n = 16 + c.tool.size() + c.session_id.size() + estimate_bytes(c.args);
  for (auto& [k, v] : c.metadata)
    n += k.size() + v.size() + 4;
  return n;
}

} // namespace snakepit::detail
