#include "actors/error.hpp"

namespace snakepit {

const char* to_string(errc code) {
  switch (code) {
    case errc::timeout: return "timeout";
    case errc::queue_full: return "queue_full";
    case errc::worker_crashed: return "worker_crashed";
    case errc::python_exception: return "python_exception";
    case errc::unknown_command: return "unknown_command";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_ready: return "not_ready";
    case errc::shutting_down: return "shutting_down";
    case errc::cancelled: return "cancelled";
    case errc::worker_busy: return "worker_busy";
    case errc::session_not_found: return "session_not_found";
    case errc::startup_failed: return "startup_failed";
    case errc::variable_not_found: return "variable_not_found";
    case errc::invalid_value: return "invalid_value";
    case errc::version_conflict: return "version_conflict";
    case errc::already_exists: return "already_exists";
    case errc::invalid_state: return "invalid_state";
    case errc::session_limit: return "session_limit";
    case errc::internal: return "internal";
  }
  return "unknown_error";
}

std::string error::to_string() const {
  std::string out = snakepit::to_string(code_);
  if (!python_type_.empty())
    out += ": " + python_type_;
  if (!message_.empty())
    out += ": " + message_;
  return out;
}

} // namespace snakepit
