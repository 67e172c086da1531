// tests/transport/process_output_test.cpp — stdout/stderr reach the output
// callback as labelled lines.
#include "process_test_support.hpp"

#include <stdexcept>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

std::shared_ptr<process_events> run(process_launcher& launcher, process_spec spec) {
  auto ev = std::make_shared<process_events>();
  launcher.launch(std::move(spec), observe(ev));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  return ev;
}

} // namespace

TEST_CASE("stdout_and_stderr_lines_reach_the_output_callback_with_the_label") {
  auto launcher = make_launcher();
  auto ev = run(*launcher, shell("echo one; echo two >&2; echo three; echo; echo four >&2", "w7"));
  CHECK(ev->texts(output_stream::stdout_stream) == std::vector<std::string>{"one", "three", ""});
  CHECK(ev->texts(output_stream::stderr_stream) == std::vector<std::string>{"two", "four"});
  const auto pid = ev->pid();
  for (const auto& line : ev->output()) {
    CHECK(line.label == "w7");
    CHECK(line.pid == pid);
    CHECK_FALSE(line.truncated);
  }
  // started first, exit last, output in between.
  std::lock_guard g{ev->mutex};
  REQUIRE(ev->sequence.size() == 7);
  CHECK(ev->sequence.front() == "started");
  CHECK(ev->sequence.back() == "exit");
  CHECK(ev->exit_calls == 1);
}

TEST_CASE("partial_last_line_is_flushed_at_exit") {
  auto launcher = make_launcher();
  auto ev = run(*launcher, shell("echo whole; printf 'no newline'; printf 'err tail' >&2"));
  CHECK(ev->texts(output_stream::stdout_stream) == std::vector<std::string>{"whole", "no newline"});
  CHECK(ev->texts(output_stream::stderr_stream) == std::vector<std::string>{"err tail"});
  std::lock_guard g{ev->mutex};
  CHECK(ev->sequence.back() == "exit");
}

TEST_CASE("output_written_just_before_exit_is_delivered_before_on_exit") {
  // 200 KiB (more than a pipe holds) then exit at once.
  auto launcher = make_launcher();
  auto ev = run(*launcher, shell("i=0; while [ $i -lt 2000 ]; do "
                                 "echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
                                 "i=$((i+1)); done; printf last"));
  auto out = ev->texts(output_stream::stdout_stream);
  REQUIRE(out.size() == 2001);
  CHECK(out.front().rfind("line-0-", 0) == 0);
  CHECK(out[1999].rfind("line-1999-", 0) == 0);
  CHECK(out.back() == "last");
}

TEST_CASE("notify_fd_lines_arrive_on_the_notify_stream") {
  auto launcher = make_launcher();
  auto spec = shell("echo log; echo 'ready unix:/tmp/w1.sock' >&5; echo err >&2; printf tail >&5", "w1");
  spec.notify_fd = 5;
  auto ev = run(*launcher, std::move(spec));
  CHECK(ev->texts(output_stream::notify_stream)
        == std::vector<std::string>{"ready unix:/tmp/w1.sock", "tail"});
  CHECK(ev->texts(output_stream::stdout_stream) == std::vector<std::string>{"log"});
  CHECK(ev->texts(output_stream::stderr_stream) == std::vector<std::string>{"err"});
  for (const auto& line : ev->output())
    CHECK(line.label == "w1");
  std::lock_guard g{ev->mutex};
  CHECK(ev->sequence.back() == "exit");
}

TEST_CASE("long_lines_are_cut_at_the_bound") {
  process_launcher_options options;
  options.max_line_bytes = 100;
  auto launcher = make_launcher(options);
  auto ev = run(*launcher, shell("head -c 100000 /dev/zero | tr '\\0' a; echo; echo after"));
  auto out = ev->output();
  REQUIRE(out.size() == 2);
  CHECK(out[0].text == std::string(100, 'a'));
  CHECK(out[0].truncated);
  CHECK(out[1].text == "after");
  CHECK_FALSE(out[1].truncated);
}

TEST_CASE("a_throwing_callback_is_reported_and_does_not_stop_observation") {
  auto diagnostics = std::make_shared<std::vector<std::string>>();
  auto diag_mutex = std::make_shared<std::mutex>();
  process_launcher_options options;
  options.on_diagnostic = [diagnostics, diag_mutex](std::string_view text) {
    std::lock_guard g{*diag_mutex};
    diagnostics->emplace_back(text);
  };
  auto launcher = make_launcher(options);
  auto ev = std::make_shared<process_events>();
  auto obs = observe(ev);
  obs.on_output = [](process_output) { throw std::runtime_error("boom from on_output"); };
  launcher->launch(shell("echo hi; echo again"), std::move(obs));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  CHECK(ev->exit_info().status.success());
  std::lock_guard g{*diag_mutex};
  REQUIRE(diagnostics->size() == 2);
  CHECK(diagnostics->front().find("boom from on_output") != std::string::npos);
}
