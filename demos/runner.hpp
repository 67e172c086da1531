#pragma once
// The demo runner: runs demos step by step, prints each step with ✓/✗ and its
// time, always releases what the demo tracked (after success, after a failed
// step, after an exception), lets the global tracker check for leaks, and
// collects a report that can be written as JSON.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "context.hpp"
#include "demo.hpp"
#include "global_tracker.hpp"

namespace snakepit::demos {

struct step_record {
  std::string name;
  std::string description;
  enum class status { passed, failed, skipped } outcome = status::skipped;
  double ms = 0;
  std::string failure;
  std::vector<std::string> notes;
  json value;
};

struct release_record {
  std::string kind;
  std::string id;
  bool ok = true;
  std::string error;
};

struct demo_outcome {
  std::string name;
  std::string description;
  bool passed = false;
  bool expected_to_fail = false;
  std::string failed_step;  // empty if every step passed
  std::vector<step_record> steps;
  std::vector<release_record> released;
  std::vector<leak_record> leaks;
  std::vector<std::string> runtime_log;
  double ms = 0;
  double cleanup_ms = 0;

  /// A failure that was not expected, or a success of a demo meant to fail.
  bool unexpected() const { return passed == expected_to_fail; }
  json to_json() const;
};

struct run_report {
  std::vector<demo_outcome> demos;
  double ms = 0;
  std::size_t passed() const;
  std::size_t unexpected() const;
  json to_json() const;
};

class runner {
public:
  explicit runner(run_options options, std::FILE* out = stdout);
  ~runner();
  runner(const runner&) = delete;
  runner& operator=(const runner&) = delete;

  demo_outcome run(demo& d);
  run_report run(const std::vector<demo_entry>& entries);

  caf::actor_system& actor_system();
  global_tracker& tracker();
  /// The directory each demo's temporary files go under (removed at the end).
  const std::string& scratch_root() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace snakepit::demos
