// Property tests of the dynamic supervisor against the pure model in
// supervisor_model.hpp: random max_children (1-5 or unlimited), random
// restart intensity (0-4 restarts per 1-3000 ms) and random sequences of
// 1-30 steps (a time advance, then start_child with a random restart type,
// terminate_child of a child or of a handle that is no longer a child, one
// to three children ending normal / shutdown / abnormal / kill at once, or
// the supervisor being shut down or killed). After every step the real
// supervisor must agree with the model: the answers to start_child and
// terminate_child, its children in start order with restart counts, the
// test children's life log, whether it ended and why; once it ended, no
// child is alive.
#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <ostream>

#include "harness.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "property_support.hpp"
#include "supervisor_model.hpp"

using namespace snakepit::test;
using namespace snakepit::test::properties;

namespace {

namespace gen = rc::gen;

enum class action { start_child, child_exit, terminate_child, terminate_stale, sup_shutdown,
                    sup_kill };

const char* to_string(action a) {
  switch (a) {
    case action::start_child: return "start_child";
    case action::child_exit: return "child_exit";
    case action::terminate_child: return "terminate_child";
    case action::terminate_stale: return "terminate_stale";
    case action::sup_shutdown: return "sup_shutdown";
    case action::sup_kill: return "sup_kill";
  }
  return "?";
}

/// One random step: move the clock, then act.
struct step {
  action act = action::start_child;
  unsigned index = 0;  // which child (modulo their count)
  model::restart type = model::restart::permanent;  // of a started child
  std::vector<exit_pick> exits;  // child_exit: 1-3 children ending at once
  int advance_kind = 0;  // 0: none, 1: a few ms, 2: exactly the period, 3: up to 2 periods
  unsigned advance_raw = 0;

  std::int64_t advance_ms(std::int64_t period) const {
    switch (advance_kind) {
      case 1: return advance_raw % 50;
      case 2: return period;
      case 3: return advance_raw % (2 * period + 1);
      default: return 0;
    }
  }
};

[[maybe_unused]] std::ostream& operator<<(std::ostream& os, const step& s) {
  os << "{" << to_string(s.act) << " index=" << s.index << " type=" << model::to_string(s.type)
     << " exits=[";
  for (auto& e : s.exits)
    os << e.index << ":" << model::to_string(e.how) << " ";
  return os << "] advance_kind=" << s.advance_kind << " raw=" << s.advance_raw << "}";
}

rc::Gen<step> gen_step() {
  return gen::apply(
    [](action a, unsigned index, model::restart r, std::vector<exit_pick> exits, int kind,
       unsigned raw) { return step{a, index, r, std::move(exits), kind, raw}; },
    gen::weightedElement<action>({{8, action::start_child},
                                  {10, action::child_exit},
                                  {4, action::terminate_child},
                                  {1, action::terminate_stale},
                                  {1, action::sup_shutdown},
                                  {1, action::sup_kill}}),
    gen::inRange(0u, 100u),
    gen::element(model::restart::permanent, model::restart::transient,
                 model::restart::temporary),
    gen_exits(),
    gen::weightedElement<int>({{4, 0}, {3, 1}, {1, 2}, {2, 3}}), gen::inRange(0u, 100000u));
}


/// The real dynamic supervisor and the model agree (RC_ASSERTs otherwise).
void agree(test_system& t, const caf::actor& sup, const test_system::watch& w, const life_log& log,
           const model::dynamic_supervisor_model& m) {
  RC_ASSERT(w.ended() == !m.alive());
  RC_ASSERT(model::join(log.starts) == model::join(m.starts));
  if (!m.alive()) {
    RC_ASSERT(sv::describe(w.reason()) == sv::describe(expected_reason(*m.ended)));
    RC_ASSERT(log.alive_total() == 0);
    // On shutdown the children are stopped concurrently: compare as multisets.
    RC_ASSERT(model::join(log.stops, true) == model::join(m.stops, true));
    return;
  }
  RC_ASSERT(model::join(log.stops) == model::join(m.stops));
  auto rows = t.children_of(sup);
  std::vector<model::child> actual;
  for (auto& row : rows) {
    RC_ASSERT(!row.restarting);  // restarts succeed at once in the harness
    actual.push_back(model::child{row.id, from_sv(row.restart), bool(row.handle), row.restarts});
    if (row.handle)
      RC_ASSERT(log.latest.at(row.id) == row.handle);
  }
  RC_ASSERT(model::describe(actual) == model::describe(m.children));
  RC_ASSERT(model::alive_counts(log.alive, m.starts)
            == model::alive_counts(m.alive_by_id(), m.starts));
  RC_ASSERT(log.alive_total() == static_cast<int>(m.running_count()));
  auto counts = t.ask<sv::child_counts>(sup, sv::count_children_atom::value);
  RC_ASSERT(counts && *counts);
  RC_ASSERT((*counts)->specs == m.children.size());
  RC_ASSERT((*counts)->active == m.running_count());
}

} // namespace

TEST_CASE("dynamic_supervisor_agrees_with_the_model_under_random_starts_terminates_and_exits") {
  auto property = [] {
    const auto max_children = *gen::maybe(gen::inRange<std::size_t>(1, 6));
    const auto max_restarts = *gen::inRange(0, 5);
    const auto period = *gen::inRange<std::int64_t>(1, 3001);
    const auto steps =
      *gen::container<std::vector<step>>(*gen::inRange<std::size_t>(1, 31), gen_step());

    model::dynamic_supervisor_model m{max_children ? std::optional<std::size_t>{*max_children}
                                                   : std::nullopt,
                                      max_restarts, period};
    test_system t;
    auto log = std::make_shared<life_log>();
    sv::dynamic_supervisor_flags flags;
    flags.max_children = max_children ? *max_children : sv::unlimited_children;
    flags.intensity = {max_restarts, std::chrono::milliseconds{period}};
    auto sup = sv::spawn_dynamic_supervisor(t.sys, flags);
    RC_ASSERT(bool(sup));
    t.run();
    auto w = t.watch_actor(*sup);
    std::vector<caf::actor> handed_out;  // every handle start_child answered with
    agree(t, *sup, w, *log, m);

    for (std::size_t i = 0; i < steps.size() && m.alive(); ++i) {
      const auto& s = steps[i];
      RC_LOG() << "step " << i << ": " << s << "\n";
      if (auto ms = s.advance_ms(period); ms > 0) {
        t.advance(std::chrono::milliseconds{ms});
        m.advance(ms);
      }
      switch (s.act) {
        case action::start_child: {
          auto id = m.next_child_id();
          auto res = t.ask<caf::actor>(*sup, sv::start_child_atom::value,
                                       test_child_spec(log, id, to_sv(s.type)));
          RC_ASSERT(res.has_value());
          auto accepted = m.start_child(s.type);
          RC_LOG() << "  start " << id << " (" << model::to_string(s.type) << "): "
                   << (accepted ? "accepted" : "refused") << "\n";
          if (accepted) {
            RC_ASSERT(bool(*res));
            RC_ASSERT(**res == log->latest.at(id));
            handed_out.push_back(**res);
          } else {
            RC_ASSERT(!*res);
            RC_ASSERT(sv::is(res->error(), sv::sup_errc::max_children));
          }
          break;
        }
        case action::child_exit:
          exit_together(t, *log, m, s.exits);
          break;
        case action::terminate_child: {
          if (m.children.empty())
            break;
          auto index = s.index % m.children.size();
          auto id = m.children[index].id;
          RC_LOG() << "  terminate " << id << "\n";
          auto res = t.ask<caf::ok_atom>(*sup, sv::terminate_child_atom::value,
                                         log->latest.at(id));
          RC_ASSERT(res.has_value());
          RC_ASSERT(bool(*res));
          m.terminate_child(index);
          break;
        }
        case action::terminate_stale: {
          // A handle start_child gave out that is no longer a running child
          // (terminated, ended, or replaced by a restart): not_found, no change.
          std::vector<caf::actor> stale;
          for (auto& h : handed_out) {
            bool current = false;
            for (auto& c : m.children)
              current = current || (c.running && log->latest.at(c.id) == h);
            if (!current)
              stale.push_back(h);
          }
          if (stale.empty())
            break;
          auto res = t.ask<caf::ok_atom>(*sup, sv::terminate_child_atom::value,
                                         stale[s.index % stale.size()]);
          RC_ASSERT(res.has_value());
          RC_ASSERT(!*res);
          RC_ASSERT(sv::is(res->error(), sv::sup_errc::not_found));
          break;
        }
        case action::sup_shutdown:
          caf::anon_send_exit(*sup, caf::exit_reason::user_shutdown);
          t.run();
          m.shutdown();
          break;
        case action::sup_kill:
          caf::anon_send_exit(*sup, caf::exit_reason::kill);
          t.run();
          m.kill();
          break;
      }
      agree(t, *sup, w, *log, m);
    }
    RC_TAG(m.ended ? model::to_string(*m.ended) : "still running");
  };
  CHECK(rc::check("dynamic supervisor agrees with the model", property));
}
