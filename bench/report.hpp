#pragma once
// bench/report.hpp — the table: one row per figure, ours next to its raw
// anchor from the same run, how they compare, and the target (printed, never
// asserted).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace snakepit::bench {

/// How a row compares ours with its anchor, and what its target means.
enum class comparison {
  overhead_pct,  // (ours / raw - 1) in %, target: at most that much
  delta,         // ours - raw in the row's unit, target: at most that much
  ratio_pct,     // ours / raw in %, target: at least that much
  absolute,      // ours alone, target: below that value
  at_least,      // ours alone, target: at least that value (ours / raw shown)
};

struct row {
  std::string figure;  // the --only name: startup, latency, throughput, ...
  std::string name;    // what was measured
  std::string unit;    // ms, us, calls/s, MiB/s, chunks/s
  double ours = 0;
  std::optional<double> raw;  // the anchor (same unit)
  std::string raw_label;      // what the anchor is
  comparison cmp = comparison::ratio_pct;
  std::optional<double> target;  // in the comparison's terms
  std::string note;              // a secondary anchor or a remark
};

struct failure {
  std::string figure;
  std::string what;
};

class report {
public:
  void add(row r);
  void fail(std::string figure, std::string what);

  /// Adds rows as they come (so a long run shows progress).
  void print_row(const row& r) const;
  void print_header() const;
  void print_failure(const failure& f) const;

  nlohmann::json to_json() const;
  const std::vector<row>& rows() const { return rows_; }
  const std::vector<failure>& failures() const { return failures_; }

private:
  std::vector<row> rows_;
  std::vector<failure> failures_;
};

/// "+12.3 %", "+35 us", "94 %" — how ours compares; "—" without an anchor.
std::string describe_comparison(const row& r);
/// "<= +15 %  ok" / "... MISS"; empty without a target.
std::string describe_target(const row& r);
/// Whether the row meets its target (nullopt: no target or no anchor).
std::optional<bool> target_met(const row& r);

} // namespace snakepit::bench
