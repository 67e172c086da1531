#pragma once
// bench/sample_stats.hpp — percentiles of a set of samples (nearest rank).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace snakepit::bench {

/// The p-th percentile (0 < p <= 100) by nearest rank; 0 for no samples.
inline double percentile(std::vector<double> samples, double p) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  rank = std::clamp<std::size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

inline double median(std::vector<double> samples) {
  return percentile(std::move(samples), 50);
}

} // namespace snakepit::bench
