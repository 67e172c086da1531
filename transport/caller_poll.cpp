#include "transport/caller_poll.hpp"

#include <utility>

namespace snakepit::transport {

namespace {

thread_local caller_poll_offer* current_offer = nullptr;

} // namespace

// Offers nest (a call made from inside a polled completion): the inner one
// hides the outer until it ends.
caller_poll_offer::caller_poll_offer() : outer_(current_offer) {
  current_offer = this;
}

caller_poll_offer::~caller_poll_offer() {
  current_offer = outer_;
}

void caller_poll_offer::withdraw() {
  open_ = false;
}

bool caller_poll_offer::open_offer() {
  return current_offer && current_offer->open_ && !current_offer->taken_;
}

void caller_poll_offer::take(std::shared_ptr<polled_connection> connection) {
  if (!open_offer())
    return;
  current_offer->taken_ = std::move(connection);
}

} // namespace snakepit::transport
