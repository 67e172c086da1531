// snakepit-demo: list | run NAME... | run --all
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "demo.hpp"

namespace {

using snakepit::demos::all_demos;
using snakepit::demos::demo_entry;

void usage() {
  std::cout << "usage: snakepit-demo list\n"
               "       snakepit-demo run NAME...\n"
               "       snakepit-demo run --all\n";
}

bool run_demo(const demo_entry& entry) {
  using clock = std::chrono::steady_clock;
  fmt::print("\n== {} — {}\n", entry.name, entry.description);
  auto d = entry.make();
  bool ok = true;
  for (auto& step : d->steps()) {
    auto t0 = clock::now();
    snakepit::demos::step_result r;
    try {
      r = step.run();
    } catch (const std::exception& ex) {
      r = {false, fmt::format("exception: {}", ex.what())};
    }
    auto ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    fmt::print("  {} {} ({:.1f} ms)\n", r.ok ? "✓" : "✗", step.name, ms);
    if (!r.detail.empty())
      fmt::print("{}\n", r.detail);
    if (!r.ok) {
      ok = false;
      break;
    }
  }
  auto c = d->cleanup();
  fmt::print("  {} cleanup{}\n", c.ok ? "✓" : "✗", c.detail.empty() ? "" : ": " + c.detail);
  return ok && c.ok;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto demos = all_demos();
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "list") {
    for (auto& d : demos)
      fmt::print("{:<14} {}\n", d.name, d.description);
    return 0;
  }
  if (args[0] != "run" || args.size() < 2) {
    usage();
    return 2;
  }
  std::vector<const demo_entry*> chosen;
  if (args[1] == "--all") {
    for (auto& d : demos)
      chosen.push_back(&d);
  } else {
    for (std::size_t i = 1; i < args.size(); ++i) {
      const demo_entry* found = nullptr;
      for (auto& d : demos)
        if (d.name == args[i])
          found = &d;
      if (!found) {
        fmt::print(stderr, "unknown demo '{}' (see: snakepit-demo list)\n", args[i]);
        return 2;
      }
      chosen.push_back(found);
    }
  }
  int failed = 0;
  for (auto* d : chosen)
    failed += run_demo(*d) ? 0 : 1;
  fmt::print("\n{} of {} demos passed\n", chosen.size() - failed, chosen.size());
  return failed == 0 ? 0 : 1;
}
