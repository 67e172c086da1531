// transport/bridge_server_error.cpp
#include "transport/bridge_server_error.hpp"

namespace snakepit::transport {

std::string_view to_string(bridge_errc code) noexcept {
  switch (code) {
    case bridge_errc::invalid_options:
      return "invalid options";
    case bridge_errc::invalid_address:
      return "invalid address";
    case bridge_errc::directory_missing:
      return "directory missing";
    case bridge_errc::insecure_directory:
      return "insecure directory";
    case bridge_errc::bind_failed:
      return "bind failed";
  }
  return "unknown bridge error";
}

std::string to_string(const bridge_error& error) {
  std::string out{to_string(error.code)};
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  return out;
}

} // namespace snakepit::transport
