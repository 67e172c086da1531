#pragma once
// snakepit::error across CAF's error channel. CAF answers a failed request
// (and fills caf::expected) with a caf::error; ours travel as category
// "snakepit", code = errc, and the full snakepit::error (message, Python type,
// traceback) in the context, so nothing is lost on the way.
//
// (Belongs next to snakepit::error in actors/error.hpp once that header may
// depend on CAF; kept here so error.hpp stays CAF-free.)

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "actors/error.hpp"

namespace snakepit {

/// The category atom of snakepit errors carried as caf::error.
constexpr caf::atom_value error_category = caf::atom("snakepit");

/// Wraps `e` into a caf::error (category "snakepit", code = e.code()).
caf::error to_caf_error(const snakepit::error& e);

/// Unwraps an error of a request to the pool (or of spawn_pool):
/// ours → the error we sent; sec::request_timeout → errc::timeout;
/// sec::request_receiver_down → errc::shutting_down (the pool is gone);
/// anything else → errc::internal with CAF's rendering.
snakepit::error from_caf_error(const caf::error& e);

} // namespace snakepit
