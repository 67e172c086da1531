// tests/transport/process_values_test.cpp — the value types, without processes.
#include "transport/process_error.hpp"
#include "transport/process_exit_status.hpp"
#include "transport/process_line_splitter.hpp"
#include "transport/process_result.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

using namespace snakepit::transport;

TEST_CASE("exit_status_renders_as_text") {
  CHECK(to_string(exit_status::exited_with(2)) == "exited with code 2");
  CHECK(to_string(exit_status::exited_with(0)) == "exited with code 0");
  CHECK(to_string(exit_status::killed_by(SIGKILL)) == "killed by signal 9 (SIGKILL)");
  CHECK(to_string(exit_status::killed_by(SIGTERM)) == "killed by signal 15 (SIGTERM)");
  CHECK(to_string(exit_status::killed_by(SIGSEGV, true))
        == "killed by signal 11 (SIGSEGV, core dumped)");
  CHECK(to_string(exit_status::unknown_status()) == "exit status unknown");
  CHECK(exit_status::exited_with(0).success());
  CHECK_FALSE(exit_status::exited_with(1).success());
  CHECK_FALSE(exit_status::killed_by(SIGTERM).success());
  CHECK(exit_status::killed_by(SIGTERM).signal() == SIGTERM);
  CHECK(exit_status::exited_with(3).code() == 3);
}

TEST_CASE("process_error_carries_category_operation_and_errno_text") {
  auto err = make_process_error(process_errc::program_not_found, "execve", ENOENT,
                                "w1: cannot run '/nope'");
  CHECK(err.code == process_errc::program_not_found);
  CHECK(err.operation == "execve");
  CHECK(err.sys_errno == ENOENT);
  CHECK(to_string(err)
        == "program not found: w1: cannot run '/nope': execve: No such file or directory (ENOENT)");

  process_result<int> ok{7};
  process_result<int> bad{err};
  CHECK(ok.has_value());
  CHECK(*ok == 7);
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error().code == process_errc::program_not_found);
  CHECK_THROWS_AS((void)bad.value(), std::logic_error);
  CHECK_THROWS_AS((void)ok.error(), std::logic_error);
}

TEST_CASE("line_splitter_cuts_long_lines_at_the_bound_and_keeps_exact_ones") {
  using line = process_line_splitter::line;
  process_line_splitter split{4};
  std::vector<line> out;
  split.feed("ab", out);
  CHECK(out.empty());
  split.feed("cd\nabcdefgh", out); // exactly 4: kept whole; 8: cut
  split.feed("ijk\nxy\n\n", out);  // rest of the long line dropped up to its '\n'
  split.feed("tail", out);
  split.flush(out);
  CHECK(out == std::vector<line>{{"abcd", false}, {"abcd", true}, {"xy", false}, {"", false},
                                 {"tail", false}});
  out.clear();
  split.flush(out); // nothing pending
  CHECK(out.empty());
  split.feed("toolongline", out);
  split.flush(out); // a cut partial line is not emitted twice
  CHECK(out == std::vector<line>{{"tool", true}});
}
