// snakepit-demo: list | run NAME... | run --all, with options
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "demo.hpp"
#include "runner.hpp"

namespace {

using namespace snakepit::demos;

void usage(std::FILE* to) {
  fmt::print(to,
             "usage: snakepit-demo list\n"
             "       snakepit-demo run (--all | NAME...) [options]\n"
             "options:\n"
             "  --pool-size N    Python workers per demo runtime (default 2)\n"
             "  --quick          smaller payloads and fewer rounds (what the tests run)\n"
             "  --report FILE    write a JSON report to FILE ('-': to stdout, the\n"
             "                   human-readable output then goes to stderr)\n"
             "  --verbose        show runtime warnings as they happen\n"
             "exit status: 0 when every demo passed, 1 when one failed unexpectedly, 2 on usage errors\n");
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto demos = all_demos();
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    usage(stdout);
    return 0;
  }
  if (args[0] == "list") {
    for (auto& d : demos)
      fmt::print("{:<16} {}\n", d.name, d.description);
    return 0;
  }
  if (args[0] != "run") {
    usage(stderr);
    return 2;
  }
  run_options options;
  bool all = false;
  std::string report_path;
  std::vector<const demo_entry*> chosen;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto need_value = [&](const char* what) -> const std::string* {
      if (i + 1 >= args.size()) {
        fmt::print(stderr, "{} needs a value\n", what);
        return nullptr;
      }
      return &args[++i];
    };
    if (a == "--all") {
      all = true;
    } else if (a == "--quick") {
      options.quick = true;
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--pool-size") {
      auto* v = need_value("--pool-size");
      if (!v)
        return 2;
      try {
        options.pool_size = std::stoul(*v);
      } catch (const std::exception&) {
        options.pool_size = 0;
      }
      if (options.pool_size < 1 || options.pool_size > 64) {
        fmt::print(stderr, "--pool-size must be 1..64, got '{}'\n", *v);
        return 2;
      }
    } else if (a == "--report") {
      auto* v = need_value("--report");
      if (!v)
        return 2;
      report_path = *v;
    } else if (!a.empty() && a[0] == '-') {
      fmt::print(stderr, "unknown option '{}'\n", a);
      usage(stderr);
      return 2;
    } else {
      const demo_entry* found = nullptr;
      for (auto& d : demos)
        if (d.name == a)
          found = &d;
      if (!found) {
        fmt::print(stderr, "unknown demo '{}' (see: snakepit-demo list)\n", a);
        return 2;
      }
      chosen.push_back(found);
    }
  }
  if (all)
    for (auto& d : demos)
      chosen.push_back(&d);
  if (chosen.empty()) {
    usage(stderr);
    return 2;
  }
  std::vector<demo_entry> selected;
  for (auto* d : chosen)
    selected.push_back(*d);

  std::FILE* out = report_path == "-" ? stderr : stdout;
  options.live_progress = out == stdout && ::isatty(STDOUT_FILENO);
  run_report report;
  {
    runner r(options, out);
    report = r.run(selected);
  }
  fmt::print(out, "\n{} of {} demos passed in {:.1f} s", report.passed(), report.demos.size(),
             report.ms / 1000.0);
  if (report.passed() != report.demos.size()) {
    std::vector<std::string> failed;
    for (auto& d : report.demos)
      if (!d.passed)
        failed.push_back(d.name + (d.failed_step.empty() ? " (cleanup)" : " at " + d.failed_step));
    fmt::print(out, "; failed: {}", fmt::join(failed, ", "));
  }
  fmt::print(out, "\n");
  if (!report_path.empty()) {
    auto text = report.to_json().dump(2);
    if (report_path == "-") {
      std::cout << text << "\n";
    } else {
      std::ofstream f(report_path);
      f << text << "\n";
      if (!f) {
        fmt::print(stderr, "cannot write the report to {}\n", report_path);
        return 1;
      }
    }
  }
  return report.unexpected() == 0 ? 0 : 1;
}
