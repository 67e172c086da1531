#include "actors/bridge_translation.hpp"

#include <fmt/format.h>

#include "transport/value_codec.hpp"

namespace snakepit::detail {

namespace tp = snakepit::transport;

namespace {

error bad(std::string msg) {
  return error{errc::invalid_argument, std::move(msg)};
}

result<nlohmann::json> decode(wire::Value&& v, const std::string& what) {
  auto j = tp::from_value(std::move(v));
  if (!j)
    return bad(fmt::format("{}: {}", what, tp::to_string(j.error())));
  return std::move(*j);
}

wire::SessionError::Code code_of(errc c) {
  using C = wire::SessionError;
  switch (c) {
    case errc::session_not_found: return C::SESSION_NOT_FOUND;
    case errc::variable_not_found: return C::VARIABLE_NOT_FOUND;
    case errc::invalid_value: return C::INVALID_VALUE;
    case errc::version_conflict: return C::VERSION_CONFLICT;
    case errc::already_exists: return C::ALREADY_EXISTS;
    case errc::invalid_state: return C::INVALID_STATE;
    case errc::invalid_argument: return C::INVALID_ARGUMENT;
    case errc::session_limit: return C::SESSION_LIMIT;
    case errc::shutting_down:
    case errc::timeout:
    case errc::not_ready: return C::UNAVAILABLE;
    default: return C::INTERNAL;
  }
}

} // namespace

result<session_op> to_session_op(wire::SessionRequest&& req) {
  using R = wire::SessionRequest;
  switch (req.op_case()) {
    case R::kGetVariables: {
      auto& names = *req.mutable_get_variables()->mutable_names();
      if (names.empty())
        return bad("get: no variable names");
      if (names.size() == 1)
        return session_op{get_one{std::move(names[0])}};
      return session_op{get_many{{std::make_move_iterator(names.begin()),
                                  std::make_move_iterator(names.end())}}};
    }
    case R::kSetVariables: {
      auto& writes = *req.mutable_set_variables()->mutable_writes();
      if (writes.empty())
        return bad("set: no writes");
      if (writes.size() == 1) {
        auto& w = writes[0];
        auto value = decode(std::move(*w.mutable_value()), w.name());
        if (!value)
          return value.error();
        std::optional<uint64_t> expected;
        if (w.has_expected_version())
          expected = w.expected_version();
        return session_op{set_one{{std::move(*w.mutable_name()), std::move(*value), expected}}};
      }
      session_protocol::set_many_request many;
      for (auto& w : writes) {
        if (w.has_expected_version())
          return bad("compare-and-set takes one variable at a time, not a batch");
        auto value = decode(std::move(*w.mutable_value()), w.name());
        if (!value)
          return value.error();
        many.writes.emplace_back(std::move(*w.mutable_name()), std::move(*value));
      }
      return session_op{set_many{std::move(many)}};
    }
    case R::kRegisterVariable: {
      auto& r = *req.mutable_register_variable();
      auto type = parse_variable_type(r.type());
      if (!type)
        return type.error();
      auto value = decode(std::move(*r.mutable_value()), r.name());
      if (!value)
        return value.error();
      variable_constraints constraints;
      if (r.has_constraints()) {
        auto j = tp::from_value_map(std::move(*r.mutable_constraints()));
        if (!j)
          return bad(fmt::format("{}: constraints: {}", r.name(), tp::to_string(j.error())));
        auto c = variable_constraints::from_json(*j);
        if (!c)
          return c.error();
        constraints = std::move(*c);
      }
      return session_op{register_one{
        {std::move(*r.mutable_name()), *type, std::move(*value), std::move(constraints)}}};
    }
    case R::kIncrementVariable: {
      auto& i = *req.mutable_increment_variable();
      auto delta = decode(std::move(*i.mutable_delta()), i.name());
      if (!delta)
        return delta.error();
      return session_op{increment_one{{std::move(*i.mutable_name()), std::move(*delta)}}};
    }
    case R::kDeleteVariable:
      return session_op{remove_one{std::move(*req.mutable_delete_variable()->mutable_name())}};
    case R::kListVariables:
      return session_op{list_all{}};
    case R::OP_NOT_SET:
      break;
  }
  return bad("the session request names no operation");
}

wire::SessionReply to_reply(const std::vector<variable>& vars) {
  wire::SessionReply out;
  for (auto& v : vars) {
    auto* s = out.add_variables();
    s->set_name(v.name);
    s->set_type(to_string(v.type));
    s->set_version(v.version);
    if (auto enc = tp::encode_value(v.value, *s->mutable_value()); !enc)
      return to_reply(error{errc::internal, fmt::format("{}: {}", v.name, tp::to_string(enc.error()))});
    auto c = v.constraints.to_json();
    if (!c.empty())
      if (auto enc = tp::encode_args(c, *s->mutable_constraints()); !enc)
        return to_reply(
          error{errc::internal, fmt::format("{}: constraints: {}", v.name, tp::to_string(enc.error()))});
  }
  return out;
}

wire::SessionReply to_reply(const error& e) {
  wire::SessionReply out;
  out.mutable_error()->set_code(code_of(e.code()));
  out.mutable_error()->set_message(e.message());
  return out;
}

wire::HostToolReply to_tool_reply(const result<nlohmann::json>& r) {
  wire::HostToolReply out;
  if (r) {
    if (auto enc = tp::encode_value(*r, *out.mutable_value()); enc)
      return out;
    else
      return to_tool_reply(error{errc::invalid_argument,
                                 "the host tool's result cannot cross the wire: "
                                   + tp::to_string(enc.error())});
  }
  auto* e = out.mutable_error();
  switch (r.error().code()) {
    case errc::unknown_command: e->set_category(wire::UNKNOWN_COMMAND); break;
    case errc::invalid_argument: e->set_category(wire::INVALID_ARGUMENT); break;
    case errc::timeout: e->set_category(wire::TIMEOUT); break;
    default: e->set_category(wire::INTERNAL); break;
  }
  e->set_type(to_string(r.error().code()));
  e->set_message(r.error().message());
  return out;
}

} // namespace snakepit::detail
