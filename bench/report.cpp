#include "bench/report.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace snakepit::bench {

namespace {

std::string format_value(double v, const std::string& unit) {
  if (unit == "ms")
    return fmt::format("{:.1f} ms", v);
  if (unit == "us")
    return fmt::format("{:.0f} us", v);
  if (unit == "MiB/s")
    return fmt::format("{:.0f} MiB/s", v);
  return fmt::format("{:.0f} {}", v, unit);
}

std::optional<double> comparison_value(const row& r) {
  if (r.cmp == comparison::absolute || r.cmp == comparison::at_least)
    return r.ours;
  if (!r.raw || *r.raw == 0)
    return std::nullopt;
  switch (r.cmp) {
    case comparison::overhead_pct:
      return (r.ours / *r.raw - 1.0) * 100.0;
    case comparison::delta:
      return r.ours - *r.raw;
    case comparison::ratio_pct:
      return r.ours / *r.raw * 100.0;
    case comparison::absolute:
    case comparison::at_least:
      break;
  }
  return std::nullopt;
}

const char* comparison_name(comparison c) {
  switch (c) {
    case comparison::overhead_pct:
      return "overhead_pct";
    case comparison::delta:
      return "delta";
    case comparison::ratio_pct:
      return "ratio_pct";
    case comparison::absolute:
      return "absolute";
    case comparison::at_least:
      return "at_least";
  }
  return "?";
}

constexpr const char* row_format = "{:<38} {:>14} {:>14} {:>12}  {:<17} {}\n";

} // namespace

std::string describe_comparison(const row& r) {
  // A floor on ours alone still shows how it stands against its anchor.
  if (r.cmp == comparison::at_least)
    return r.raw && *r.raw != 0 ? fmt::format("{:.0f} %", r.ours / *r.raw * 100.0) : "-";
  auto v = comparison_value(r);
  if (!v || r.cmp == comparison::absolute)
    return "-";
  switch (r.cmp) {
    case comparison::overhead_pct:
      return fmt::format("{:+.1f} %", *v);
    case comparison::delta:
      return fmt::format("{:+.0f} {}", *v, r.unit);
    case comparison::ratio_pct:
      return fmt::format("{:.0f} %", *v);
    case comparison::absolute:
    case comparison::at_least:
      break;
  }
  return "-";
}

std::optional<bool> target_met(const row& r) {
  if (!r.target)
    return std::nullopt;
  auto v = comparison_value(r);
  if (!v)
    return std::nullopt;
  switch (r.cmp) {
    case comparison::overhead_pct:
    case comparison::delta:
      return *v <= *r.target;
    case comparison::ratio_pct:
      return *v >= *r.target;
    case comparison::absolute:
      return *v < *r.target;
    case comparison::at_least:
      return *v >= *r.target;
  }
  return std::nullopt;
}

std::string describe_target(const row& r) {
  if (!r.target)
    return "";
  std::string t;
  switch (r.cmp) {
    case comparison::overhead_pct:
      t = fmt::format("<= +{:.0f} %", *r.target);
      break;
    case comparison::delta:
      t = fmt::format("<= +{:.0f} {}", *r.target, r.unit);
      break;
    case comparison::ratio_pct:
      t = fmt::format(">= {:.0f} %", *r.target);
      break;
    case comparison::absolute:
      t = fmt::format("< {}", format_value(*r.target, r.unit));
      break;
    case comparison::at_least:
      t = fmt::format(">= {}", format_value(*r.target, r.unit));
      break;
  }
  auto met = target_met(r);
  return fmt::format("{:<11} {}", t, met ? (*met ? "ok" : "MISS") : "?");
}

void report::add(row r) {
  print_row(r);
  rows_.push_back(std::move(r));
}

void report::fail(std::string figure, std::string what) {
  failures_.push_back(failure{std::move(figure), std::move(what)});
  print_failure(failures_.back());
}

void report::print_header() const {
  fmt::print(row_format, "row", "ours", "raw", "ours vs raw", "target", "raw anchor; note");
  fmt::print("{}\n", std::string(130, '-'));
  std::fflush(stdout);
}

void report::print_row(const row& r) const {
  std::string anchor = r.raw_label;
  if (!r.note.empty())
    anchor += (anchor.empty() ? "" : "; ") + r.note;
  fmt::print(row_format, r.name, format_value(r.ours, r.unit),
             r.raw ? format_value(*r.raw, r.unit) : "-", describe_comparison(r),
             describe_target(r), anchor);
  std::fflush(stdout);
}

void report::print_failure(const failure& f) const {
  fmt::print("{:<38} FAILED: {}\n", f.figure, f.what);
  std::fflush(stdout);
}

nlohmann::json report::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (auto& r : rows_) {
    nlohmann::json j{{"figure", r.figure}, {"name", r.name},     {"unit", r.unit},
                     {"ours", r.ours},     {"raw_label", r.raw_label},
                     {"comparison", comparison_name(r.cmp)}, {"note", r.note}};
    j["raw"] = r.raw ? nlohmann::json(*r.raw) : nlohmann::json(nullptr);
    auto v = comparison_value(r);
    j["vs_raw"] = v && r.cmp != comparison::absolute ? nlohmann::json(*v) : nlohmann::json(nullptr);
    j["target"] = r.target ? nlohmann::json(*r.target) : nlohmann::json(nullptr);
    auto met = target_met(r);
    j["target_met"] = met ? nlohmann::json(*met) : nlohmann::json(nullptr);
    rows.push_back(std::move(j));
  }
  nlohmann::json failures = nlohmann::json::array();
  for (auto& f : failures_)
    failures.push_back({{"figure", f.figure}, {"error", f.what}});
  return {{"rows", std::move(rows)}, {"failures", std::move(failures)}};
}

} // namespace snakepit::bench
