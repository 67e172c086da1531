// transport/process_line_splitter.hpp — splits a byte stream into bounded lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace snakepit::transport {

/// Accumulates bytes and yields complete lines (without '\n'). A line longer
/// than `max_line_bytes` is yielded once, cut to the bound and marked
/// truncated; the rest of it, up to the next '\n', is dropped.
class process_line_splitter {
public:
  struct line {
    std::string text;
    bool truncated = false;
    friend bool operator==(const line&, const line&) = default;
  };

  explicit process_line_splitter(std::size_t max_line_bytes);

  /// Appends complete lines found in `data` to `out`.
  void feed(std::string_view data, std::vector<line>& out);
  /// End of stream: yields the pending partial line, if any.
  void flush(std::vector<line>& out);

  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending_.size(); }

private:
  void append_segment(std::string_view segment, std::vector<line>& out);

  std::size_t max_;
  std::string pending_;
  bool discarding_ = false;
};

} // namespace snakepit::transport
