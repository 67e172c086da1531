#include "supervision/supervision_error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace snakepit::supervision {

const char* to_string(sup_errc code) {
  switch (code) {
    case sup_errc::none: return "none";
    case sup_errc::invalid_child_spec: return "invalid_child_spec";
    case sup_errc::invalid_flags: return "invalid_flags";
    case sup_errc::duplicate_child_id: return "duplicate_child_id";
    case sup_errc::start_failed: return "start_failed";
    case sup_errc::max_children: return "max_children";
    case sup_errc::not_found: return "not_found";
    case sup_errc::already_registered: return "already_registered";
    case sup_errc::shutting_down: return "shutting_down";
    case sup_errc::call_timeout: return "call_timeout";
    case sup_errc::invalid_name: return "invalid_name";
  }
  return "unknown_supervision_error";
}

caf::error make_error(sup_errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), sup_category,
                    caf::make_message(std::move(message))};
}

bool is(const caf::error& err, sup_errc code) {
  return err.category() == sup_category && err.code() == static_cast<uint8_t>(code);
}

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

namespace {

std::string render_ours(uint8_t code, const caf::message& ctx) {
  std::string out = to_string(static_cast<sup_errc>(code));
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
    const auto& msg = ctx.get_as<std::string>(0);
    if (!msg.empty()) {
      out += ": ";
      out += msg;
    }
  }
  return out;
}

} // namespace

namespace {

std::string with_context(std::string head, const caf::message& ctx) {
  if (ctx.empty())
    return head;
  head += ": ";
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    head += ctx.get_as<std::string>(0);
  else
    head += caf::to_string(ctx);
  return head;
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "normal";
  if (err.category() == sup_category)
    return render_ours(err.code(), err.context());
  if (err.category() == caf::atom("exit"))
    return with_context(caf::to_string(static_cast<caf::exit_reason>(err.code())),
                        err.context());
  if (err.category() == caf::atom("system"))
    return with_context(caf::to_string(static_cast<caf::sec>(err.code())), err.context());
  return caf::to_string(err);
}

void register_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(sup_category, [](uint8_t code, caf::atom_value,
                                          const caf::message& ctx) -> std::string {
    return render_ours(code, ctx);
  });
}

} // namespace snakepit::supervision
