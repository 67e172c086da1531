#include "supervision/exit_class.hpp"

#include <caf/exit_reason.hpp>

namespace snakepit::supervision {

exit_class classify(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal)
    return exit_class::normal;
  if (reason == caf::exit_reason::user_shutdown)
    return exit_class::shutdown;
  if (reason == caf::exit_reason::kill)
    return exit_class::killed;
  return exit_class::abnormal;
}

const char* to_string(exit_class c) {
  switch (c) {
    case exit_class::normal: return "normal";
    case exit_class::shutdown: return "shutdown";
    case exit_class::killed: return "killed";
    case exit_class::abnormal: return "abnormal";
  }
  return "?";
}

} // namespace snakepit::supervision
