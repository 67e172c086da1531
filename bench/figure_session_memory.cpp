// Figure 10: host memory per idle session. A runtime (1 worker,
// max_sessions 200000) in this process; after a warm-up (100 sessions
// created and closed) the resident set (/proc/self/statm) and malloc's bytes
// in use (mallinfo2) are read, then idle sessions (create_session, no
// variables) are created from one thread, in steps up to 10,000 and 100,000
// (--quick: 1,000 and 10,000), each step's total read again. Before every
// reading malloc_trim(0) hands free pages back, so memory freed by earlier
// figures and reused here does not hide what the sessions take.
//
// No anchor: the figure is absolute (bytes per session, total MiB, and the
// creation rate). If creating them takes longer than a budget (60 s) the
// figure stops there and says how far it got. The runtime then shuts down
// with every session still open (the shutdown time is in the last note).

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

namespace {

constexpr double budget_s = 60;

struct memory_reading {
  double rss = 0;   // bytes
  double heap = 0;  // malloc's bytes in use, every arena
};

memory_reading read_memory() {
  ::malloc_trim(0);
  memory_reading m;
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  if (!(statm >> size >> resident))
    throw bench_error("cannot read /proc/self/statm");
  m.rss = resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
  m.heap = static_cast<double>(::mallinfo2().uordblks);
  return m;
}

constexpr double mib = 1024.0 * 1024.0;

} // namespace

void figure_session_memory(const bench_options& opts, report& out) {
  const std::vector<std::size_t> steps =
    opts.quick ? std::vector<std::size_t>{1000, 10000} : std::vector<std::size_t>{10000, 100000};

  auto cfg = make_config(opts, 1);
  cfg.max_sessions = 200000;
  auto rt = start_runtime(cfg);

  // Warm-up: the first sessions pay for code paths, actor-system caches and
  // the store's first allocations.
  for (int i = 0; i < 100; ++i) {
    auto id = fmt::format("warm-{}", i);
    expect_ok(rt->create_session(id), "create_session");
    expect_ok(rt->close_session(id), "close_session");
  }
  const auto base = read_memory();

  struct step_result {
    std::size_t sessions;
    memory_reading memory;
    double seconds;  // creating this step's sessions
    std::size_t created;
  };
  std::vector<step_result> results;
  std::size_t created = 0;
  double creating_s = 0;
  bool over_budget = false;
  for (auto target : steps) {
    stopwatch sw;
    const std::size_t first = created;
    while (created < target) {
      expect_ok(rt->create_session(fmt::format("idle-{}", created)), "create_session");
      ++created;
      if (created % 1000 == 0) {
        check_interrupted();
        if (creating_s + sw.elapsed_s() > budget_s) {
          over_budget = true;
          break;
        }
      }
    }
    double s = sw.elapsed_s();
    creating_s += s;
    results.push_back({target, read_memory(), s, created - first});
    if (over_budget)
      break;
  }
  const std::size_t listed = rt->list_sessions().size();
  stopwatch shutdown_sw;
  rt->shutdown();
  const double shutdown_s = shutdown_sw.elapsed_s();
  rt.reset();

  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const bool last = i + 1 == results.size();
    // Sessions alive at this reading: every step before it, plus this one's.
    std::size_t alive = 0;
    for (std::size_t k = 0; k <= i; ++k)
      alive += results[k].created;
    const auto n = static_cast<double>(alive);
    const double rss = r.memory.rss - base.rss;
    const double heap = r.memory.heap - base.heap;

    row m;
    m.figure = "session_memory";
    m.name = fmt::format("host memory per idle session, {}", alive);
    m.unit = "B";
    m.ours = rss / n;
    m.cmp = comparison::absolute;
    m.note = fmt::format("RSS +{:.1f} MiB for {} sessions (malloc in use +{:.0f} B/session); "
                         "1 worker, no variables",
                         rss / mib, alive, heap / n);
    if (alive < r.sessions)
      m.note += fmt::format("; STOPPED at {} of {}: creating took over {:.0f} s", alive,
                            r.sessions, budget_s);
    if (last)
      m.note += fmt::format("; list_sessions {}; shutdown with them open {:.2f} s", listed,
                            shutdown_s);
    out.add(std::move(m));

    row c;
    c.figure = "session_memory";
    c.name = fmt::format("create_session rate, to {}", alive);
    c.unit = "sess/s";  // sessions/s (fits the column)
    c.ours = static_cast<double>(r.created) / r.seconds;
    c.cmp = comparison::absolute;
    c.note = fmt::format("{} sessions in {:.2f} s, sequential from 1 thread ({} -> {})",
                         r.created, r.seconds, alive - r.created, alive);
    out.add(std::move(c));
  }
}

} // namespace snakepit::bench
