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
#include "supervisor_model.hpp"

using namespace snakepit::test;

namespace {

namespace gen = rc::gen;

enum class action { child_exit, sup_shutdown, sup_kill };

sv::restart_type to_sv(model::restart r) {
  switch (r) {
    case model::restart::permanent: return sv::restart_type::permanent;
    case model::restart::transient: return sv::restart_type::transient;
    case model::restart::temporary: return sv::restart_type::temporary;
  }
  return sv::restart_type::permanent;
}

model::restart from_sv(sv::restart_type r) {
  switch (r) {
    case sv::restart_type::permanent: return model::restart::permanent;
    case sv::restart_type::transient: return model::restart::transient;
    case sv::restart_type::temporary: return model::restart::temporary;
  }
  return model::restart::permanent;
}

how to_how(model::exit_how h) {
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
rc::Gen<std::vector<exit_pick>> gen_exits() {
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
void exit_together(test_system& t, life_log& log, model::model_base& m,
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

/// life_log::latest holds strong handles to the children and each child
/// holds the log: a reference cycle that keeps every case's last children
/// (about 3 kB a case) after its actor system is gone. Declared after the
/// test_system, this breaks the cycle when a case ends, passed or failed.
struct forget_children_at_end {
  std::shared_ptr<life_log> log;
  ~forget_children_at_end() { log->latest.clear(); }
};

caf::error expected_reason(model::end_reason r) {
  return r == model::end_reason::killed ? caf::error{caf::exit_reason::kill}
                                        : caf::error{caf::exit_reason::user_shutdown};
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
    forget_children_at_end forget{log};
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
