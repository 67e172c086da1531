#include "actors/pool_error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "actors/worker_protocol.hpp"  // snakepit::error as a message type
#include "supervision/supervision_error.hpp"

namespace snakepit {

caf::error to_caf_error(const snakepit::error& e) {
  return caf::error{static_cast<uint8_t>(e.code()), error_category, caf::make_message(e)};
}

snakepit::error from_caf_error(const caf::error& e) {
  if (e.category() == error_category) {
    const auto& ctx = e.context();
    if (ctx.match_elements<snakepit::error>())
      return ctx.get_as<snakepit::error>(0);
    return snakepit::error{static_cast<errc>(e.code()), {}};
  }
  if (e == caf::sec::request_timeout)
    return snakepit::error{errc::timeout, "no answer from the pool in time"};
  if (e == caf::sec::request_receiver_down)
    return snakepit::error{errc::shutting_down, "the pool is gone"};
  return snakepit::error{errc::internal, supervision::describe(e)};
}

} // namespace snakepit
