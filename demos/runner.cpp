#include "runner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <fmt/format.h>

namespace snakepit::demos {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

const char* to_string(step_record::status s) {
  switch (s) {
    case step_record::status::passed: return "passed";
    case step_record::status::failed: return "failed";
    case step_record::status::skipped: return "skipped";
  }
  return "?";
}

std::string make_scratch_root() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/snakepit-demo-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    throw std::runtime_error("mkdtemp " + pattern + " failed");
  return buf.data();
}

std::string summarize(const std::vector<release_record>& released) {
  std::map<std::string, int> by_kind;
  for (auto& r : released)
    by_kind[r.kind]++;
  std::vector<std::string> parts;
  for (auto& [kind, n] : by_kind)
    parts.push_back(fmt::format("{} {}{}", n, kind, n == 1 ? "" : "s"));
  return parts.empty() ? "nothing to release" : fmt::format("{}", fmt::join(parts, ", "));
}

} // namespace

json demo_outcome::to_json() const {
  json steps_json = json::array();
  for (auto& s : steps)
    steps_json.push_back({{"name", s.name}, {"description", s.description},
                          {"status", to_string(s.outcome)}, {"ms", s.ms},
                          {"failure", s.failure}, {"notes", s.notes}});
  json released_json = json::array();
  for (auto& r : released)
    released_json.push_back({{"kind", r.kind}, {"id", r.id}, {"ok", r.ok}, {"error", r.error}});
  json leaks_json = json::array();
  for (auto& l : leaks)
    leaks_json.push_back({{"kind", l.kind}, {"what", l.what}});
  return {{"name", name}, {"description", description}, {"passed", passed},
          {"expected_to_fail", expected_to_fail}, {"failed_step", failed_step},
          {"ms", ms}, {"cleanup_ms", cleanup_ms}, {"steps", steps_json},
          {"released", released_json}, {"leaks", leaks_json},
          {"runtime_warnings", runtime_log.size()}};
}

std::size_t run_report::passed() const {
  std::size_t n = 0;
  for (auto& d : demos)
    n += d.passed;
  return n;
}

std::size_t run_report::unexpected() const {
  std::size_t n = 0;
  for (auto& d : demos)
    n += d.unexpected();
  return n;
}

json run_report::to_json() const {
  json all = json::array();
  for (auto& d : demos)
    all.push_back(d.to_json());
  return {{"demos", all}, {"total", demos.size()}, {"passed", passed()},
          {"failed", demos.size() - passed()}, {"unexpected", unexpected()}, {"ms", ms}};
}

struct runner::impl {
  run_options options;
  std::FILE* out;
  caf::actor_system_config cfg;
  caf::actor_system actors{cfg};
  global_tracker tracker{actors};
  std::string scratch = make_scratch_root();

  template <class... Args>
  void print(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(out, f, std::forward<Args>(args)...);
    std::fflush(out);
  }

  void clear_progress(context::internals& in) {
    if (in.progress_drawn) {
      print("\r\033[K");
      in.progress_drawn = false;
    }
  }

  void release(context::internals& in, bool last, demo_outcome& outcome) {
    for (auto i = in.resources.rbegin(); i != in.resources.rend(); ++i) {
      if (i->last != last)
        continue;
      release_record rec{i->kind, i->id, true, {}};
      try {
        if (i->release) {
          auto r = i->release();
          if (!r) {
            rec.ok = false;
            rec.error = r.error().to_string();
          }
        }
      } catch (const std::exception& ex) {
        rec.ok = false;
        rec.error = std::string("exception: ") + ex.what();
      } catch (...) {
        rec.ok = false;
        rec.error = "unknown exception";
      }
      outcome.released.push_back(std::move(rec));
    }
  }

  demo_outcome run(demo& d) {
    demo_outcome outcome;
    outcome.name = d.name();
    outcome.description = d.description();
    outcome.expected_to_fail = d.expected_to_fail();
    auto t0 = clock_type::now();
    print("\n━━ {} — {}\n", outcome.name, outcome.description);

    auto dir = scratch + "/" + outcome.name;
    ::mkdir(dir.c_str(), 0700);
    tracker.begin_demo();
    context ctx(outcome.name, options, actors, dir, out);
    auto& in = ctx.runner_side();

    bool failed = false;
    for (auto& info : d.steps()) {
      step_record rec;
      rec.name = info.name;
      rec.description = info.description;
      if (failed) {
        outcome.steps.push_back(std::move(rec));
        continue;
      }
      auto s0 = clock_type::now();
      std::string failure;
      try {
        auto r = d.run_step(info.name, ctx);
        if (r.passed()) {
          rec.value = r.value();
          in.results[info.name] = r.value();
        } else {
          failure = r.reason().empty() ? "failed" : r.reason();
        }
      } catch (const step_failure& ex) {
        failure = ex.what();
      } catch (const std::exception& ex) {
        failure = std::string("exception: ") + ex.what();
      } catch (...) {
        failure = "unknown exception";
      }
      rec.ms = ms_since(s0);
      clear_progress(in);
      rec.outcome = failure.empty() ? step_record::status::passed : step_record::status::failed;
      rec.failure = failure;
      rec.notes = std::move(in.notes);
      in.notes.clear();
      print("  {} {} ({:.1f} ms)\n", failure.empty() ? "✓" : "✗", info.description, rec.ms);
      for (auto& n : rec.notes)
        print("      {}\n", n);
      if (!failure.empty()) {
        std::string indented;
        for (char c : failure)
          indented += c == '\n' ? std::string("\n        ") : std::string(1, c);
        print("      ✗ {}\n", indented);
        failed = true;
        outcome.failed_step = info.name;
      }
      outcome.steps.push_back(std::move(rec));
    }

    // Always: release what the demo tracked, newest first; the tracker
    // checks while the runtimes still run, then they go, then processes.
    auto c0 = clock_type::now();
    release(in, false, outcome);
    auto leaks = tracker.check_before_shutdown(in, dir);
    release(in, true, outcome);
    auto late = tracker.check_after_shutdown(in);
    leaks.insert(leaks.end(), late.begin(), late.end());
    ::rmdir(dir.c_str());
    outcome.cleanup_ms = ms_since(c0);
    outcome.leaks = std::move(leaks);
    outcome.runtime_log = in.runtime_log;

    bool released_ok = true;
    for (auto& r : outcome.released)
      released_ok = released_ok && r.ok;
    print("  {} cleanup: released {} ({:.0f} ms)\n", released_ok ? "✓" : "✗",
          summarize(outcome.released), outcome.cleanup_ms);
    for (auto& r : outcome.released)
      if (!r.ok)
        print("      ✗ {} {}: {}\n", r.kind, r.id, r.error);
    if (outcome.leaks.empty()) {
      print("  ✓ leak check: no session, file, actor or process left behind\n");
    } else {
      for (auto& l : outcome.leaks)
        print("  ✗ leak: {}: {}\n", l.kind, l.what);
    }
    outcome.passed = !failed && released_ok && outcome.leaks.empty();
    outcome.ms = ms_since(t0);
    print("  {} {} in {:.0f} ms{}\n", outcome.passed ? "PASS" : "FAIL", outcome.name, outcome.ms,
          outcome.expected_to_fail ? " (expected to fail)" : "");
    return outcome;
  }
};

runner::runner(run_options options, std::FILE* out) : impl_(std::make_unique<impl>()) {
  impl_->options = options;
  impl_->out = out;
}

runner::~runner() {
  ::rmdir(impl_->scratch.c_str());
}

demo_outcome runner::run(demo& d) {
  return impl_->run(d);
}

run_report runner::run(const std::vector<demo_entry>& entries) {
  run_report report;
  auto t0 = clock_type::now();
  for (auto& e : entries) {
    auto d = e.make();
    report.demos.push_back(impl_->run(*d));
  }
  report.ms = ms_since(t0);
  return report;
}

caf::actor_system& runner::actor_system() {
  return impl_->actors;
}

global_tracker& runner::tracker() {
  return impl_->tracker;
}

const std::string& runner::scratch_root() const {
  return impl_->scratch;
}

} // namespace snakepit::demos
