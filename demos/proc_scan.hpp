#pragma once
// What /proc says about processes: the global tracker's evidence that a demo
// left no process behind.

#include <string>
#include <vector>

namespace snakepit::demos {

struct process_entry {
  int pid = 0;
  int ppid = 0;
  char state = '?';      // R, S, D, Z (zombie), ...
  std::string cmdline;   // arguments joined by spaces
};

/// Every process but this one.
std::vector<process_entry> list_processes();
/// Processes whose command line contains `needle` (e.g. a run id).
std::vector<process_entry> processes_with(const std::string& needle);
/// This process's direct children.
std::vector<process_entry> children_of_this_process();

} // namespace snakepit::demos
