// transport/process_output_pipe.hpp — the read end of one of a child's output
// pipes (stdout, stderr, notify), turned into lines.
#pragma once

#include "transport/process_fd.hpp"
#include "transport/process_line_splitter.hpp"
#include "transport/process_observer.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace snakepit::transport {

class process_output_pipe {
public:
  using line = process_line_splitter::line;

  enum class outcome {
    drained, ///< nothing more to read now (EAGAIN)
    more,    ///< stopped after max_reads chunks; more may be waiting
    ended,   ///< EOF
    failed,  ///< read error (see `error`)
  };
  struct read_result {
    outcome what = outcome::drained;
    int error = 0;
  };

  /// `fd` must be non-blocking.
  process_output_pipe(unique_fd fd, output_stream stream, std::size_t max_line_bytes);

  [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] output_stream stream() const noexcept { return stream_; }

  /// Reads at most `max_reads` chunks of `buffer.size()` bytes and appends the
  /// complete lines to `out`. When the stream ended or failed, the partial
  /// last line is appended too; the caller then close()s.
  read_result read_available(std::span<char> buffer, int max_reads, std::vector<line>& out);

  /// Appends the partial last line (if any) to `out`.
  void flush(std::vector<line>& out) { splitter_.flush(out); }

  /// Closes the descriptor (an epoll set forgets it with its last close).
  void close() noexcept { fd_.reset(); }

private:
  unique_fd fd_;
  output_stream stream_;
  process_line_splitter splitter_;
};

} // namespace snakepit::transport
