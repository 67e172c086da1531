#pragma once
// Small helpers the showcase demos share: formatting only.

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <snakepit/snakepit.hpp>

namespace snakepit::demos {

/// Milliseconds since t0, as a double.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// The traceback's lines, without empty ones, each indented: what a user
/// needs to see of a Python error, cleanly.
inline std::vector<std::string> traceback_lines(const snakepit::error& e, std::size_t max_lines = 12) {
  std::vector<std::string> lines;
  std::string tb = e.traceback();
  std::size_t start = 0;
  while (start < tb.size()) {
    auto end = tb.find('\n', start);
    if (end == std::string::npos)
      end = tb.size();
    auto line = tb.substr(start, end - start);
    if (line.find_first_not_of(' ') != std::string::npos)
      lines.push_back("  │ " + line);
    start = end + 1;
  }
  if (lines.size() > max_lines) {
    auto cut = lines.size() - max_lines;
    lines.erase(lines.begin() + 1, lines.begin() + 1 + static_cast<long>(cut));
    lines.insert(lines.begin() + 1, fmt::format("  │ ... ({} lines)", cut));
  }
  return lines;
}

} // namespace snakepit::demos
