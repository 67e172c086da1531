// Property tests of the static supervisor against the pure model in
// supervisor_model.hpp: random children (1-5, random restart types), random
// restart intensity (0-4 restarts per 1-3000 ms) and random sequences of
// 1-30 steps (a time advance, then one to three running children ending
// normal / shutdown / abnormal / kill at once, or the supervisor being shut
// down or killed). The static supervisor has no start/terminate API; the
// dynamic one's is covered in 10_dynamic_supervisor_properties.cpp. After every
// step the real supervisor must agree with the model: children in order with
// running state and restart counts, the test children's life log (starts and
// stops in order, who is alive), whether the supervisor ended and why; once
// it ended, no child is alive.
#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <ostream>

#include "harness.hpp"
#include "supervision/supervisor.hpp"
#include "property_support.hpp"
#include "supervisor_model.hpp"

using namespace snakepit::test;
using namespace snakepit::test::properties;

namespace {

namespace gen = rc::gen;

enum class action { child_exit, sup_shutdown, sup_kill };

/// One random step: move the clock, then act.
struct step {
  action act = action::child_exit;
  std::vector<exit_pick> exits;  // child_exit: 1-3 children ending at once
  int advance_kind = 0;     // 0: none, 1: a few ms, 2: exactly the period, 3: up to 2 periods
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
  const char* a = s.act == action::child_exit     ? "child_exit"
                  : s.act == action::sup_shutdown ? "sup_shutdown"
                                                  : "sup_kill";
  os << "{" << a << " exits=[";
  for (auto& e : s.exits)
    os << e.index << ":" << model::to_string(e.how) << " ";
  return os << "] advance_kind=" << s.advance_kind << " raw=" << s.advance_raw << "}";
}

rc::Gen<step> gen_step() {
  return gen::apply(
    [](action a, std::vector<exit_pick> exits, int kind, unsigned raw) {
      return step{a, std::move(exits), kind, raw};
    },
    gen::weightedElement<action>(
      {{28, action::child_exit}, {1, action::sup_shutdown}, {1, action::sup_kill}}),
    gen_exits(),
    gen::weightedElement<int>({{4, 0}, {3, 1}, {1, 2}, {2, 3}}), gen::inRange(0u, 100000u));
}


/// The real supervisor and the model agree (RC_ASSERTs otherwise).
void agree(test_system& t, const caf::actor& sup, const test_system::watch& w, const life_log& log,
           const model::supervisor_model& m) {
  RC_ASSERT(w.ended() == !m.alive());
  RC_ASSERT(model::join(log.starts) == model::join(m.starts));
  if (!m.alive()) {
    RC_ASSERT(sv::describe(w.reason()) == sv::describe(expected_reason(*m.ended)));
    RC_ASSERT(log.alive_total() == 0);
    // A killed supervisor kills its children in no particular order; otherwise
    // they are stopped last started first.
    if (*m.ended == model::end_reason::killed)
      RC_ASSERT(model::join(log.stops, true) == model::join(m.stops, true));
    else
      RC_ASSERT(model::join(log.stops) == model::join(m.stops));
    return;
  }
  RC_ASSERT(model::join(log.stops) == model::join(m.stops));
  auto rows = t.children_of(sup);
  std::vector<model::child> actual;
  for (auto& row : rows) {
    RC_ASSERT(!row.restarting);  // restarts succeed at once in the harness
    actual.push_back(model::child{row.id, from_sv(row.restart), bool(row.handle), row.restarts});
    if (row.handle) // the running handle is the last instance started
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

void run_property(const char* name, sv::restart_strategy strategy, model::strategy mstrategy) {
  auto property = [=] {
    const auto n = *gen::inRange<std::size_t>(1, 6);
    const auto types = *gen::container<std::vector<model::restart>>(
      n, gen::element(model::restart::permanent, model::restart::transient,
                      model::restart::temporary));
    const auto max_restarts = *gen::inRange(0, 5);
    const auto period = *gen::inRange<std::int64_t>(1, 3001);
    const auto steps =
      *gen::container<std::vector<step>>(*gen::inRange<std::size_t>(1, 31), gen_step());

    std::vector<model::child> specs;
    for (std::size_t i = 0; i < n; ++i)
      specs.push_back(model::child{std::string(1, static_cast<char>('a' + i)), types[i]});
    model::supervisor_model m{mstrategy, max_restarts, period, specs};

    test_system t;
    auto log = std::make_shared<life_log>();
    sv::supervisor_flags flags;
    flags.strategy = strategy;
    flags.intensity = {max_restarts, std::chrono::milliseconds{period}};
    std::vector<sv::child_spec> children;
    for (auto& c : specs)
      children.push_back(test_child_spec(log, c.id, to_sv(c.type)));
    auto sup = sv::spawn_supervisor(t.sys, flags, children);
    RC_ASSERT(bool(sup));
    t.run();
    auto w = t.watch_actor(*sup);
    agree(t, *sup, w, *log, m);

    for (std::size_t i = 0; i < steps.size() && m.alive(); ++i) {
      const auto& s = steps[i];
      RC_LOG() << "step " << i << ": " << s << "\n";
      if (auto ms = s.advance_ms(period); ms > 0) {
        t.advance(std::chrono::milliseconds{ms});
        m.advance(ms);
      }
      switch (s.act) {
        case action::child_exit:
          exit_together(t, *log, m, s.exits);
          break;
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
  CHECK(rc::check(name, property));
}

} // namespace

TEST_CASE("one_for_one_supervisor_agrees_with_the_model_under_random_exits") {
  run_property("one_for_one supervisor agrees with the model", sv::restart_strategy::one_for_one,
               model::strategy::one_for_one);
}

TEST_CASE("one_for_all_supervisor_agrees_with_the_model_under_random_exits") {
  run_property("one_for_all supervisor agrees with the model", sv::restart_strategy::one_for_all,
               model::strategy::one_for_all);
}

TEST_CASE("rest_for_one_supervisor_agrees_with_the_model_under_random_exits") {
  run_property("rest_for_one supervisor agrees with the model",
               sv::restart_strategy::rest_for_one, model::strategy::rest_for_one);
}
