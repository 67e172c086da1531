// transport/process_registry_error.cpp
#include "transport/process_registry_error.hpp"

namespace snakepit::transport {

std::string_view to_string(registry_errc code) noexcept {
  switch (code) {
    case registry_errc::cannot_create:
      return "cannot create registry";
    case registry_errc::database_error:
      return "registry database error";
    case registry_errc::invalid_argument:
      return "invalid registry argument";
    case registry_errc::unknown_row:
      return "unknown registry row";
  }
  return "unknown registry error";
}

std::string to_string(const registry_error& error) {
  std::string out{to_string(error.code)};
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  return out;
}

} // namespace snakepit::transport
