// transport/process_error.cpp
#include "transport/process_error.hpp"

#include <cstring>

namespace snakepit::transport {

std::string_view to_string(process_errc code) noexcept {
  switch (code) {
    case process_errc::program_not_found:
      return "program not found";
    case process_errc::permission_denied:
      return "permission denied";
    case process_errc::exec_format_error:
      return "exec format error";
    case process_errc::bad_working_directory:
      return "bad working directory";
    case process_errc::invalid_spec:
      return "invalid process spec";
    case process_errc::system_error:
      return "system call failed";
    case process_errc::spawn_timeout:
      return "spawn timed out";
    case process_errc::stop_timeout:
      return "stop timed out";
    case process_errc::launcher_stopped:
      return "launcher stopped";
  }
  return "unknown process error";
}

std::string errno_text(int sys_errno) {
  // strerrordesc_np/strerrorname_np return static strings: thread-safe, unlike strerror.
  const char* desc = ::strerrordesc_np(sys_errno);
  const char* name = ::strerrorname_np(sys_errno);
  std::string out = desc ? desc : "Unknown error " + std::to_string(sys_errno);
  if (name) {
    out += " (";
    out += name;
    out += ')';
  }
  return out;
}

process_error make_process_error(process_errc code, std::string operation, int sys_errno,
                                 std::string detail) {
  process_error err;
  err.code = code;
  err.sys_errno = sys_errno;
  err.message = std::move(detail);
  if (!operation.empty()) {
    if (!err.message.empty())
      err.message += ": ";
    err.message += operation;
    if (sys_errno != 0) {
      err.message += ": ";
      err.message += errno_text(sys_errno);
    }
  }
  err.operation = std::move(operation);
  return err;
}

std::string to_string(const process_error& error) {
  std::string out{to_string(error.code)};
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  return out;
}

} // namespace snakepit::transport
