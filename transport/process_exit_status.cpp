// transport/process_exit_status.cpp
#include "transport/process_exit_status.hpp"

#include <cstring>

namespace snakepit::transport {

std::string signal_name(int signal) {
  if (const char* abbrev = ::sigabbrev_np(signal))
    return std::string{"SIG"} + abbrev;
  return "signal " + std::to_string(signal);
}

std::string to_string(const exit_status& status) {
  switch (status.how) {
    case exit_status::kind::exited:
      return "exited with code " + std::to_string(status.value);
    case exit_status::kind::killed: {
      std::string out = "killed by signal " + std::to_string(status.value) + " ("
                        + signal_name(status.value);
      if (status.core_dumped)
        out += ", core dumped";
      return out + ")";
    }
    case exit_status::kind::unknown:
      break;
  }
  return "exit status unknown";
}

} // namespace snakepit::transport
