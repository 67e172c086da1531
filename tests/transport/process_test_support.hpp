// tests/transport/process_test_support.hpp — recorders for launcher callbacks,
// bounded waiting and /proc probes shared by the transport tests.
#pragma once

#include "transport/process_launcher.hpp"

#include <doctest/doctest.h>

#include "support/eventually.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace snakepit::transport::test {

using namespace std::chrono_literals;

using snakepit::test::eventually;

/// Everything the callbacks of one launched process reported.
struct process_events {
  mutable std::mutex mutex;
  std::optional<process_result<process_started>> started;
  std::vector<process_output> lines;
  std::optional<process_exit> exit;
  std::vector<std::string> sequence; // "started", "output", "exit" in arrival order
  int started_calls = 0;
  int exit_calls = 0;

  bool has_started() const {
    std::lock_guard g{mutex};
    return started.has_value();
  }
  bool has_exited() const {
    std::lock_guard g{mutex};
    return exit.has_value();
  }
  process_result<process_started> start_result() const {
    std::lock_guard g{mutex};
    REQUIRE(started.has_value());
    return *started;
  }
  process_id pid() const {
    auto r = start_result();
    REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : to_string(r.error())));
    return r->pid;
  }
  process_exit exit_info() const {
    std::lock_guard g{mutex};
    REQUIRE(exit.has_value());
    return *exit;
  }
  std::vector<process_output> output() const {
    std::lock_guard g{mutex};
    return lines;
  }
  std::vector<std::string> texts(output_stream stream) const {
    std::lock_guard g{mutex};
    std::vector<std::string> out;
    for (const auto& l : lines)
      if (l.stream == stream)
        out.push_back(l.text);
    return out;
  }
  bool has_line(const std::string& text) const {
    std::lock_guard g{mutex};
    return std::any_of(lines.begin(), lines.end(), [&](const auto& l) { return l.text == text; });
  }
  /// The first stdout line starting with `prefix`, without the prefix.
  std::optional<std::string> line_after(const std::string& prefix) const {
    std::lock_guard g{mutex};
    for (const auto& l : lines)
      if (l.text.rfind(prefix, 0) == 0)
        return l.text.substr(prefix.size());
    return std::nullopt;
  }
};

inline process_observer observe(const std::shared_ptr<process_events>& ev) {
  process_observer obs;
  obs.on_started = [ev](process_result<process_started> r) {
    std::lock_guard g{ev->mutex};
    ev->started = std::move(r);
    ++ev->started_calls;
    ev->sequence.push_back("started");
  };
  obs.on_output = [ev](process_output line) {
    std::lock_guard g{ev->mutex};
    ev->lines.push_back(std::move(line));
    ev->sequence.push_back("output");
  };
  obs.on_exit = [ev](process_exit e) {
    std::lock_guard g{ev->mutex};
    ev->exit = std::move(e);
    ++ev->exit_calls;
    ev->sequence.push_back("exit");
  };
  return obs;
}

/// Collects the result of a terminate()/kill_group().
struct stop_box {
  struct shared {
    std::mutex mutex;
    std::optional<process_result<stop_report>> result;
    int calls = 0;
  };
  std::shared_ptr<shared> state = std::make_shared<shared>();

  stop_callback callback() const {
    return [s = state](process_result<stop_report> r) {
      std::lock_guard g{s->mutex};
      s->result = std::move(r);
      ++s->calls;
    };
  }
  bool done() const {
    std::lock_guard g{state->mutex};
    return state->result.has_value();
  }
  process_result<stop_report> result() const {
    std::lock_guard g{state->mutex};
    REQUIRE(state->result.has_value());
    return *state->result;
  }
  stop_report report() const {
    auto r = result();
    REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : to_string(r.error())));
    return *r;
  }
};

inline std::unique_ptr<process_launcher> make_launcher(process_launcher_options options = {}) {
  auto created = process_launcher::create(std::move(options));
  REQUIRE_MESSAGE(created.has_value(), (created ? "" : to_string(created.error())));
  return std::move(*created);
}

inline process_spec shell(std::string script, std::string label = "test") {
  process_spec spec;
  spec.program = "/bin/sh";
  spec.arguments = {"-c", std::move(script)};
  spec.label = std::move(label);
  return spec;
}

inline process_spec command(std::string program, std::vector<std::string> args,
                            std::string label = "test") {
  process_spec spec;
  spec.program = std::move(program);
  spec.arguments = std::move(args);
  spec.label = std::move(label);
  return spec;
}

/// The state letter of /proc/<pid>/stat, or nullopt if there is no such process.
inline std::optional<char> proc_state(process_id pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat))
    return std::nullopt;
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size())
    return std::nullopt;
  return stat[close + 2];
}

/// Dead: no such process, or a zombie waiting for its (new) parent.
inline bool process_gone(process_id pid) {
  const auto state = proc_state(pid);
  return !state || *state == 'Z' || *state == 'X';
}

inline std::string proc_cmdline(process_id pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

} // namespace snakepit::transport::test
