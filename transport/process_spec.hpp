// transport/process_spec.hpp — what to launch: program, arguments, environment,
// working directory, inherited descriptors and a label for log lines.
#pragma once

#include "transport/process_fd.hpp"

#include <string>
#include <utility>
#include <vector>

namespace snakepit::transport {

/// A descriptor handed to the child under a fixed number (e.g. the write end
/// of a readiness pipe at fd 3). The spec owns `fd`: the launcher closes its
/// copy right after the fork, so the caller should not keep another copy open
/// if it wants to see EOF when the child exits.
struct inherited_fd {
  unique_fd fd;     ///< the descriptor in this process
  int child_fd = 3; ///< its number in the child; must be >= 3 and unique
};

/// Everything needed to start one child process. Move-only (it owns fds).
///
/// The child gets: stdin from /dev/null, stdout and stderr on pipes observed
/// by the launcher, `extra_fds` at their numbers, and no other descriptor.
struct process_spec {
  /// A path ("/usr/bin/python3", "./x") or a bare name searched on PATH (the
  /// child's PATH if the spec sets one, else the host's).
  std::string program;
  /// Arguments after argv[0]; argv[0] is `program`.
  std::vector<std::string> arguments;
  /// true: the host's environment plus `environment` (which overrides names
  /// that exist) minus `unset_environment`. false: exactly `environment`.
  bool inherit_environment = true;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> unset_environment;
  /// Empty: the host's working directory.
  std::string working_directory;
  std::vector<inherited_fd> extra_fds;
  /// If >= 3: the launcher opens a pipe, hands its write end to the child at
  /// this number and delivers what the child writes there as lines on
  /// output_stream::notify_stream (e.g. a readiness line such as
  /// "ready unix:/run/w1.sock"), in order with stdout/stderr and before
  /// on_exit. Keeps stdout free for logs. -1: no such pipe.
  int notify_fd = -1;
  /// Shown in output callbacks, errors and diagnostics (e.g. the worker id).
  std::string label;
};

} // namespace snakepit::transport
