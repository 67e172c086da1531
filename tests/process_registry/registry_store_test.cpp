// tests/process_registry/registry_store_test.cpp — rows, runs, WAL and pruning.
#include "registry_test_support.hpp"

#include <filesystem>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

} // namespace

TEST_CASE("reserved, completed and exited rows round-trip and survive reopening the file") {
  temp_dir dir;
  const auto path = dir.file("inst.sqlite");
  const auto run = fresh_run_id();
  std::int64_t a = 0, b = 0, c = 0;
  {
    auto reg = open_registry(path);
    REQUIRE(reg->begin_run(run, "inst", ::getpid()));
    a = reg->reserve(run, "w1", "python3 -m worker --run-id " + run).value();
    b = reg->reserve(run, "w2", "python3 -m worker --run-id " + run).value();
    c = reg->reserve(run, "w3", "python3 -m worker --run-id " + run).value();
    CHECK(a < b);
    CHECK(b < c);
    REQUIRE(reg->complete(a, 4242, 4242, 777));
    REQUIRE(reg->complete(b, 4343, 4343, 888));
    REQUIRE(reg->mark_exited(b, "exit status 0"));
    REQUIRE(reg->mark_exited(b, "second description is ignored"));
  }
  auto reg = open_registry(path);
  CHECK_FALSE(reg->moved_aside_to().has_value());
  auto all = reg->processes_of(run).value();
  REQUIRE(all.size() == 3);
  CHECK(all[0].worker_id == "w1");
  CHECK(all[0].command_line == "python3 -m worker --run-id " + run);
  CHECK(all[0].pid == 4242);
  CHECK(all[0].pgid == 4242);
  CHECK(all[0].start_ticks == 777u);
  CHECK_FALSE(all[0].exited_at_ms.has_value());
  CHECK(all[1].exit_description == "exit status 0");
  CHECK(all[1].exited_at_ms.has_value());
  CHECK_FALSE(all[2].pid.has_value()); // reserved only
  auto live = reg->live_processes_of(run).value();
  REQUIRE(live.size() == 2);
  CHECK(live[0].id == a);
  CHECK(live[1].id == c);
  auto runs = reg->runs_other_than("someone-else").value();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].run_id == run);
  CHECK(runs[0].instance == "inst");
  CHECK(runs[0].host_pid == ::getpid());
  CHECK(runs[0].host_start_ticks == read_process_start_ticks(::getpid()));
  CHECK_FALSE(runs[0].ended_at_ms.has_value());
  CHECK(reg->runs_other_than(run).value().empty());
  REQUIRE(reg->end_run(run));
  CHECK(reg->runs_other_than("x").value()[0].ended_at_ms.has_value());
}

TEST_CASE("misuse is a typed error") {
  temp_dir dir;
  auto reg = open_registry(dir.file("r.sqlite"));
  const auto run = fresh_run_id();
  REQUIRE(reg->begin_run(run, "i", ::getpid()));
  auto again = reg->begin_run(run, "i", ::getpid());
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == registry_errc::invalid_argument);
  CHECK(reg->complete(999, 1, 1, 1).error().code == registry_errc::unknown_row);
  CHECK(reg->mark_exited(999, "x").error().code == registry_errc::unknown_row);
  CHECK(reg->reserve("", "w", "c").error().code == registry_errc::invalid_argument);
  CHECK(reg->end_run("no-such-run").error().code == registry_errc::invalid_argument);
}

TEST_CASE("reserving for a run never begun creates the run") {
  temp_dir dir;
  auto reg = open_registry(dir.file("r.sqlite"));
  const auto run = fresh_run_id();
  REQUIRE(reg->reserve(run, "w1", "cmd"));
  auto runs = reg->runs_other_than("").value();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].run_id == run);
  CHECK(runs[0].host_pid == ::getpid());
}

TEST_CASE("the database is in WAL mode") {
  temp_dir dir;
  const auto path = dir.file("wal.sqlite");
  auto reg = open_registry(path);
  CHECK(reg->journal_mode().value() == "wal");
  REQUIRE(reg->reserve(fresh_run_id(), "w", "c"));
  CHECK(std::filesystem::exists(path + "-wal"));
  reg.reset();
  CHECK(open_registry(path)->journal_mode().value() == "wal");
}

TEST_CASE("prune removes the rows of finished runs beyond the kept ones, never of unfinished runs") {
  temp_dir dir;
  auto reg = open_registry(dir.file("p.sqlite"));
  std::vector<std::string> runs;
  for (int i = 0; i < 5; ++i) {
    runs.push_back(fresh_run_id());
    REQUIRE(reg->begin_run(runs.back(), "i", ::getpid()));
    for (int w = 0; w < 3; ++w)
      REQUIRE(reg->reserve(runs.back(), "w" + std::to_string(w), "cmd"));
  }
  // runs 0..3 finished, run 4 still going.
  for (int i = 0; i < 4; ++i)
    REQUIRE(reg->end_run(runs[static_cast<std::size_t>(i)]));
  auto report = reg->prune({.keep_last_runs = 2, .older_than = std::nullopt}).value();
  CHECK(report.runs_removed == 2);
  CHECK(report.processes_removed == 6);
  CHECK(reg->processes_of(runs[0]).value().empty());
  CHECK(reg->processes_of(runs[1]).value().empty());
  CHECK(reg->processes_of(runs[2]).value().size() == 3);
  CHECK(reg->processes_of(runs[3]).value().size() == 3);
  CHECK(reg->processes_of(runs[4]).value().size() == 3);
  CHECK(reg->runs_other_than("").value().size() == 3);

  // older_than removes finished runs however recent, still sparing unfinished ones.
  report = reg->prune({.keep_last_runs = 10, .older_than = std::chrono::milliseconds{-1000}}).value();
  CHECK(report.runs_removed == 2);
  auto left = reg->runs_other_than("").value();
  REQUIRE(left.size() == 1);
  CHECK(left[0].run_id == runs[4]);
}

TEST_CASE("with pruning the file stops growing over many runs") {
  temp_dir dir;
  const auto path = dir.file("grow.sqlite");
  auto reg = open_registry(path);
  const std::string long_command(400, 'x');
  std::uintmax_t size_after_warmup = 0;
  std::uintmax_t largest_later = 0;
  for (int i = 0; i < 120; ++i) {
    const auto run = fresh_run_id();
    REQUIRE(reg->begin_run(run, "i", ::getpid()));
    for (int w = 0; w < 4; ++w) {
      auto row = reg->reserve(run, "w" + std::to_string(w), long_command).value();
      REQUIRE(reg->complete(row, 100 + w, 100 + w, 5));
      REQUIRE(reg->mark_exited(row, "exit status 0"));
    }
    REQUIRE(reg->end_run(run));
    REQUIRE(reg->prune({.keep_last_runs = 5, .older_than = std::nullopt}));
    const auto size = file_size_or_zero(path) + file_size_or_zero(path + "-wal");
    if (i == 29)
      size_after_warmup = size;
    if (i > 29)
      largest_later = std::max(largest_later, size);
  }
  INFO("after 30 runs: " << size_after_warmup << " bytes, largest after: " << largest_later);
  CHECK(size_after_warmup > 0);
  CHECK(largest_later <= size_after_warmup + 8192);
  CHECK(reg->runs_other_than("").value().size() == 5);
}
