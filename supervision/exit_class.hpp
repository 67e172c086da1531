#pragma once
// How a child ended, in OTP's terms. The restart decision depends only on this.

#include <caf/error.hpp>

namespace snakepit::supervision {

enum class exit_class {
  normal,    // quit() without error, or exit_reason::normal
  shutdown,  // exit_reason::user_shutdown: asked to stop (OTP's `shutdown`)
  killed,    // exit_reason::kill (OTP's `killed`)
  abnormal,  // anything else: a crash
};

exit_class classify(const caf::error& reason);

const char* to_string(exit_class c);

/// OTP's "normal or shutdown": the reasons a transient child is not restarted for.
inline bool is_clean(exit_class c) {
  return c == exit_class::normal || c == exit_class::shutdown;
}

} // namespace snakepit::supervision
