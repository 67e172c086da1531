#pragma once
// bench/runtime_setup.hpp — our side of each figure: a snakepit::runtime
// configured like a host program would, its sockets under the bench's private
// directory, its warnings kept quiet unless --verbose (a restart figure makes
// many on purpose).

#include <chrono>
#include <memory>
#include <string>

#include <snakepit/snakepit.hpp>

#include "bench/bench_options.hpp"

namespace snakepit::bench {

snakepit::config make_config(const bench_options& opts, std::size_t pool_size,
                             const std::string& scheduler_policy = "sharing");

/// Constructs a runtime and waits until it is ready (throws bench_error with
/// the runtime's error otherwise). The runtime shuts down when destroyed.
std::unique_ptr<snakepit::runtime> start_runtime(const snakepit::config& cfg,
                                                 std::chrono::milliseconds timeout =
                                                   std::chrono::seconds(30));

/// Throws bench_error if the result is an error.
template <class T>
T&& expect_ok(snakepit::result<T>&& r, const char* what);
void expect_ok(const snakepit::result<void>& r, const char* what);

} // namespace snakepit::bench

#include "bench/bench_error.hpp"

template <class T>
T&& snakepit::bench::expect_ok(snakepit::result<T>&& r, const char* what) {
  if (!r)
    throw bench_error(std::string(what) + ": " + r.error().to_string());
  return std::move(r).value();
}
