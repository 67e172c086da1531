// transport/process_line_splitter.cpp
#include "transport/process_line_splitter.hpp"

#include <algorithm>

namespace snakepit::transport {

process_line_splitter::process_line_splitter(std::size_t max_line_bytes)
  : max_(std::max<std::size_t>(max_line_bytes, 1)) {}

void process_line_splitter::append_segment(std::string_view segment, std::vector<line>& out) {
  if (discarding_ || segment.empty())
    return;
  const std::size_t room = max_ - pending_.size();
  if (segment.size() <= room) {
    pending_.append(segment);
    return;
  }
  pending_.append(segment.substr(0, room));
  out.push_back({std::move(pending_), true});
  pending_.clear();
  discarding_ = true;
}

void process_line_splitter::feed(std::string_view data, std::vector<line>& out) {
  while (!data.empty()) {
    const auto newline = data.find('\n');
    append_segment(data.substr(0, newline), out);
    if (newline == std::string_view::npos)
      return;
    if (discarding_)
      discarding_ = false;
    else
      out.push_back({std::move(pending_), false});
    pending_.clear();
    data.remove_prefix(newline + 1);
  }
}

void process_line_splitter::flush(std::vector<line>& out) {
  if (!discarding_ && !pending_.empty())
    out.push_back({std::move(pending_), false});
  pending_.clear();
  discarding_ = false;
}

} // namespace snakepit::transport
