#pragma once
// Between the host bridge's wire messages (host_bridge.proto) and the session
// actors' protocol: requests in, variables and errors out.

#include <string>
#include <variant>
#include <vector>


#include "actors/error.hpp"
#include "actors/session_protocol.hpp"
#include "actors/session_variable.hpp"
#include "host_bridge.pb.h"

namespace snakepit::detail {

namespace wire = snakepit::bridge::v1;

/// One bridge op as the session actor's request (session_protocol.hpp).
struct get_one { std::string name; };
struct get_many { std::vector<std::string> names; };
struct set_one { session_protocol::set_variable_request req; };
struct set_many { session_protocol::set_many_request req; };
struct register_one { session_protocol::register_variable_request req; };
struct increment_one { session_protocol::increment_request req; };
struct remove_one { std::string name; };
struct list_all {};
using session_op =
  std::variant<get_one, get_many, set_one, set_many, register_one, increment_one, remove_one, list_all>;

/// The op a bridge request asks for, or invalid_argument (no op, no names, a
/// value that does not decode, an unknown type name, bad constraints,
/// compare-and-set inside a batch).
result<session_op> to_session_op(wire::SessionRequest&& req);

/// The reply carrying `vars` (in order).
wire::SessionReply to_reply(const std::vector<variable>& vars);
/// The reply carrying one error.
wire::SessionReply to_reply(const error& e);

/// A host tool's result or error, as Python will see it.
wire::HostToolReply to_tool_reply(const result<nlohmann::json>& r);

} // namespace snakepit::detail
