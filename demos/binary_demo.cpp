// Binary: a large payload crosses as bytes both ways (no base64, no JSON
// text), checksummed on each side.
#include <array>
#include <fstream>
#include <iterator>
#include <random>

#include "context.hpp"
#include "demo_helpers.hpp"

namespace snakepit::demos {

namespace {

/// CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320).
uint32_t crc32(const std::vector<uint8_t>& data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (auto b : data)
    c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

class binary_demo : public demo {
public:
  std::string name() const override { return "binary"; }
  std::string description() const override {
    return "Binary: a large payload round-trips as bytes, checksummed on both sides";
  }
  std::vector<step_info> steps() const override {
    return {
      {"start", "start the pool"},
      {"payload", "write a random payload to a temporary file"},
      {"checksum", "Python checksums the payload (CRC-32, SHA-256)"},
      {"round_trip", "echo the payload through Python and compare"},
    };
  }

  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "start") {
      ctx.start_runtime();
      return step_result::success();
    }
    auto& rt = ctx.rt();
    if (step == "payload") {
      std::size_t size = ctx.size<std::size_t>(16u << 20, 1u << 20);
      std::string bytes(size, '\0');
      std::mt19937_64 rng(42);
      for (auto& c : bytes)
        c = static_cast<char>(rng() & 0xFF);
      auto path = ctx.temp_file("payload.bin", bytes);
      ctx.state()["path"] = path;
      ctx.note("{} MiB of random bytes in {}", size >> 20, path);
      return step_result::success({{"bytes", size}});
    }
    std::ifstream f(ctx.state().at("path").get<std::string>(), std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto host_crc = crc32(data);
    if (step == "checksum") {
      auto t0 = std::chrono::steady_clock::now();
      auto r = ctx.value(rt.execute("checksum_bytes", {{"data", json::binary(data)}}), "checksum_bytes");
      ctx.note("Python: {} bytes, crc32 {:08x}, sha256 {}… ({:.1f} ms)", r.at("length").get<std::size_t>(),
               r.at("crc32").get<uint32_t>(), r.at("sha256").get<std::string>().substr(0, 16), ms_since(t0));
      ctx.note("host:   {} bytes, crc32 {:08x}", data.size(), host_crc);
      ctx.check(r.at("length") == data.size() && r.at("crc32") == host_crc, "checksums differ");
      return step_result::success(r);
    }
    if (step == "round_trip") {
      auto t0 = std::chrono::steady_clock::now();
      auto back = ctx.value(rt.execute("echo_bytes", {{"data", json::binary(data)}}), "echo_bytes");
      auto ms = ms_since(t0);
      ctx.check(back.is_binary(), "the payload came back as " + std::string(back.type_name()));
      const auto& got = back.get_binary();
      std::vector<uint8_t> copy(got.begin(), got.end());
      auto back_crc = crc32(copy);
      ctx.note("{} bytes there and back in {:.1f} ms ({:.0f} MiB/s through the bridge), "
               "crc32 {:08x} = {:08x}", copy.size(), ms,
               2.0 * static_cast<double>(copy.size()) / (1 << 20) / (ms / 1000.0), back_crc, host_crc);
      ctx.check(copy == data && back_crc == host_crc, "the payload changed on the way");
      return step_result::success({{"bytes", copy.size()}, {"ms", ms}});
    }
    return step_result::failure("unknown step " + step);
  }
};

} // namespace

std::unique_ptr<demo> make_binary_demo() {
  return std::make_unique<binary_demo>();
}

} // namespace snakepit::demos
