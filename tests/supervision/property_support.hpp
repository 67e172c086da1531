#pragma once
// What both supervisor property tests share: conversions between the model's
// and the library's vocabulary, the generator of children ending together,
// and the step that makes them end.
#include <rapidcheck.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "supervisor_model.hpp"

namespace snakepit::test::properties {

namespace gen = rc::gen;

inline sv::restart_type to_sv(model::restart r) {
  switch (r) {
    case model::restart::permanent: return sv::restart_type::permanent;
    case model::restart::transient: return sv::restart_type::transient;
    case model::restart::temporary: return sv::restart_type::temporary;
  }
  return sv::restart_type::permanent;
}

inline model::restart from_sv(sv::restart_type r) {
  switch (r) {
    case sv::restart_type::permanent: return model::restart::permanent;
    case sv::restart_type::transient: return model::restart::transient;
    case sv::restart_type::temporary: return model::restart::temporary;
  }
  return model::restart::permanent;
}

inline how to_how(model::exit_how h) {
  switch (h) {
    case model::exit_how::normal: return how::normal;
    case model::exit_how::shutdown: return how::shutdown;
    case model::exit_how::abnormal: return how::abnormal;
    case model::exit_how::kill: return how::kill;
  }
  return how::normal;
}

/// One child ending: which running child (modulo their count, picked
/// without replacement) and how.
struct exit_pick {
  unsigned index = 0;
  model::exit_how how = model::exit_how::normal;
};

/// Mostly one child ends, sometimes two or three at once (all dead before
/// the supervisor sees the first exit).
inline rc::Gen<std::vector<exit_pick>> gen_exits() {
  auto pick = gen::apply([](unsigned index, model::exit_how h) { return exit_pick{index, h}; },
                         gen::inRange(0u, 100u),
                         gen::element(model::exit_how::normal, model::exit_how::shutdown,
                                      model::exit_how::abnormal, model::exit_how::kill));
  return gen::mapcat(gen::weightedElement<std::size_t>({{6, 1}, {2, 2}, {1, 3}}),
                     [pick](std::size_t n) {
                       return gen::container<std::vector<exit_pick>>(n, pick);
                     });
}

/// Tells the picked running children of `m` to end, all before any runs on;
/// then runs everything that follows and updates the model.
inline void exit_together(test_system& t, life_log& log, model::model_base& m,
                   const std::vector<exit_pick>& exits) {
  auto running = m.running_indices();
  std::vector<std::pair<std::size_t, model::exit_how>> picked;
  for (auto& e : exits) {
    if (running.empty())
      break;
    auto at = running.begin() + static_cast<std::ptrdiff_t>(e.index % running.size());
    picked.emplace_back(*at, e.how);
    running.erase(at);
  }
  if (picked.empty())
    return;
  for (auto& [index, h] : picked) {
    auto& id = m.children[index].id;
    RC_LOG() << "  " << id << " exits " << model::to_string(h) << "\n";
    auto child = log.latest.at(id);
    if (h == model::exit_how::kill)
      caf::anon_send_exit(child, caf::exit_reason::kill);
    else
      caf::anon_send(child, exit_with_atom::value, static_cast<int>(to_how(h)));
  }
  t.run();
  m.children_exit(picked);
}

inline caf::error expected_reason(model::end_reason r) {
  return r == model::end_reason::killed ? caf::error{caf::exit_reason::kill}
                                        : caf::error{caf::exit_reason::user_shutdown};
}

} // namespace snakepit::test::properties
