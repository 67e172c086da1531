// Figure 4: a 1 MiB bytes payload round trip through echo_bytes (1 MiB each
// way), one caller, lock-step. MiB/s counts the payload once per round trip.
// Raw: the same request on a lock-step Channel stream (unary as a note).

#include <fmt/format.h>

#include "bench/figures.hpp"
#include "bench/interrupt.hpp"
#include "bench/raw_client.hpp"
#include "bench/raw_server.hpp"
#include "bench/runtime_setup.hpp"
#include "bench/stopwatch.hpp"

namespace snakepit::bench {

namespace {

constexpr std::size_t payload_size = 1024 * 1024;

template <class F>
double mib_per_second(int iterations, F&& round_trip) {
  for (int i = 0; i < 3; ++i)
    round_trip();
  stopwatch sw;
  for (int i = 0; i < iterations; ++i) {
    check_interrupted();
    round_trip();
  }
  return iterations * (static_cast<double>(payload_size) / (1024.0 * 1024.0)) / sw.elapsed_s();
}

} // namespace

void figure_payload(const bench_options& opts, report& out) {
  const int iterations = opts.pick(40, 8);
  auto server = raw_server::start(opts, "pl");
  server.wait_ready(std::chrono::seconds(30));
  auto conn = raw_connection::connect(server.address(), std::chrono::seconds(10));
  raw_stream_client bidi{conn};
  raw_unary_client unary{conn};
  auto request = echo_bytes_request(payload_size);
  auto rt = start_runtime(make_config(opts, 1));

  const snakepit::json::binary_t blob(std::vector<uint8_t>(payload_size, 0x5a));
  auto ours = [&] {
    auto r = expect_ok(rt->execute("echo_bytes", {{"data", blob}}), "echo_bytes");
    if (!r.is_binary() || r.get_binary().size() != payload_size)
      throw bench_error("echo_bytes answered something else than 1 MiB of bytes: "
                        + std::string(r.type_name()));
  };
  auto raw = [&] {
    auto reply = bidi.call(request);
    if (reply.result().bytes_value().size() != payload_size)
      throw bench_error("raw echo_bytes answered something else than 1 MiB of bytes");
  };

  // Alternate halves so drift hits both sides.
  double o1 = mib_per_second(iterations / 2, ours);
  double r1 = mib_per_second(iterations / 2, raw);
  double r2 = mib_per_second(iterations / 2, raw);
  double o2 = mib_per_second(iterations / 2, ours);
  double u = mib_per_second(iterations / 2, [&] { unary.call(request); });

  row r;
  r.figure = "payload";
  r.name = "1 MiB echo_bytes round trip";
  r.unit = "MiB/s";
  r.ours = (o1 + o2) / 2;
  r.raw = (r1 + r2) / 2;
  r.raw_label = "raw bidi lock-step";
  r.cmp = comparison::ratio_pct;
  r.note = fmt::format("raw unary {:.0f} MiB/s; {} round trips each", u, iterations);
  out.add(std::move(r));
}

} // namespace snakepit::bench
