// transport/process_output_pipe.cpp
#include "transport/process_output_pipe.hpp"

#include <cerrno>
#include <string_view>

#include <unistd.h>

namespace snakepit::transport {

process_output_pipe::process_output_pipe(unique_fd fd, output_stream stream,
                                         std::size_t max_line_bytes)
  : fd_(std::move(fd)), stream_(stream), splitter_(max_line_bytes) {}

process_output_pipe::read_result
process_output_pipe::read_available(std::span<char> buffer, int max_reads, std::vector<line>& out) {
  if (!fd_)
    return {outcome::ended, 0};
  for (int i = 0; i < max_reads;) {
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n > 0) {
      splitter_.feed(std::string_view{buffer.data(), static_cast<std::size_t>(n)}, out);
      ++i;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return {outcome::drained, 0};
    const int error = n < 0 ? errno : 0;
    splitter_.flush(out);
    return {n == 0 ? outcome::ended : outcome::failed, error};
  }
  return {outcome::more, 0};
}

} // namespace snakepit::transport
