// Property tests of the variable store: random sequences of operations on a
// few names (so they collide), with values of every shape against variables
// of every type. After every step: a refused operation left the store
// exactly as it was (names, types, values, versions, timestamps); an accepted
// one moved only the versions it wrote, each by one; no version ever went
// down except by a remove.
#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <chrono>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "actors/variable_store.hpp"

using namespace snakepit;
using json = nlohmann::json;
namespace gen = rc::gen;

namespace {

const std::vector<std::string> names = {"a", "b", "c", "d"};

rc::Gen<std::string> gen_name() {
  return gen::elementOf(names);
}

/// Values of every shape, many of them wrong for any given type.
rc::Gen<json> gen_value() {
  return gen::oneOf(
    gen::map(gen::inRange(-5, 6), [](int i) { return json(i); }),
    gen::map(gen::inRange(-30, 31), [](int i) { return json(i / 10.0); }),
    gen::element(json("a"), json("abc"), json(true), json(nullptr), json::array({0.5, 0.25}),
                 json{{"shape", {2}}, {"data", {1, 2}}}, json{{"shape", {3}}, {"data", {1}}},
                 json::binary({1, 2, 3}), json(std::numeric_limits<int64_t>::max())));
}

struct var_spec {
  variable_type type;
  variable_constraints constraints;
};

/// One spec per type, with constraints narrow enough that random values break them.
std::vector<var_spec> specs() {
  std::vector<var_spec> out;
  variable_constraints small_int;
  small_int.min = -3;
  small_int.max = 3;
  out.push_back({variable_type::integer, small_int});
  variable_constraints unit;
  unit.min = 0;
  unit.max = 1;
  out.push_back({variable_type::float_, unit});
  variable_constraints short_text;
  short_text.max_length = 2;
  out.push_back({variable_type::string, short_text});
  variable_constraints abc;
  abc.choices = {"a", "abc"};
  out.push_back({variable_type::choice, abc});
  variable_constraints dim2;
  dim2.dimension = 2;
  out.push_back({variable_type::embedding, dim2});
  out.push_back({variable_type::tensor, {}});
  out.push_back({variable_type::boolean, {}});
  out.push_back({variable_type::any, {}});
  return out;
}

/// Everything observable about the store, comparable as a whole.
json snapshot(const variable_store& s) {
  json out = json::array();
  for (auto& v : s.list()) {
    auto j = v.to_json();
    j["value_kind"] = static_cast<int>(v.value.type());  // 3 and 3.0 compare equal in json
    j["updated_at"] = v.updated_at.time_since_epoch().count();
    out.push_back(std::move(j));
  }
  return out;
}

std::map<std::string, uint64_t> versions(const variable_store& s) {
  std::map<std::string, uint64_t> out;
  for (auto& v : s.list())
    out[v.name] = v.version;
  return out;
}

enum class op { register_, set, cas, increment, remove, set_many, get_many };

rc::Gen<op> gen_op() {
  return gen::element(op::register_, op::set, op::cas, op::increment, op::remove, op::set_many,
                      op::get_many);
}

const char* op_name(op o) {
  switch (o) {
    case op::register_: return "register";
    case op::set: return "set";
    case op::cas: return "cas";
    case op::increment: return "increment";
    case op::remove: return "remove";
    case op::set_many: return "set_many";
    case op::get_many: return "get_many";
  }
  return "?";
}

/// Runs one random operation; returns whether it was accepted and the names
/// it wrote (bumped or created) or removed.
struct outcome {
  bool accepted = false;
  std::vector<std::string> written;
  std::vector<std::string> removed;
};

outcome random_step(variable_store& store, const std::vector<var_spec>& all_specs) {
  const auto o = *gen_op();
  const auto name = *gen_name();
  RC_LOG() << op_name(o) << " " << name << "\n";
  switch (o) {
    case op::register_: {
      const auto& spec = all_specs[*gen::inRange<std::size_t>(0, all_specs.size())];
      auto r = store.register_variable(name, spec.type, *gen_value(), spec.constraints);
      return {bool(r), {name}, {}};
    }
    case op::set:
      return {bool(store.set(name, *gen_value())), {name}, {}};
    case op::cas: {
      auto current = store.get(name);
      const uint64_t actual = current ? current->version : 0;
      // Half the time the right version, else a random (mostly wrong) one.
      const uint64_t expected = *gen::arbitrary<bool>() ? actual : *gen::inRange<uint64_t>(0, 5);
      return {bool(store.set(name, *gen_value(), expected)), {name}, {}};
    }
    case op::increment: {
      auto delta = *gen::oneOf(gen::map(gen::inRange(-3, 4), [](int i) { return json(i); }),
                               gen::map(gen::inRange(-10, 11), [](int i) { return json(i / 4.0); }),
                               gen::just(json("x")));
      return {bool(store.increment(name, delta)), {name}, {}};
    }
    case op::remove:
      return {bool(store.remove(name)), {}, {name}};
    case op::set_many: {
      auto picked = *gen::container<std::vector<std::string>>(
        *gen::inRange<std::size_t>(1, 4), gen_name());  // duplicates happen: refused
      std::vector<std::pair<std::string, json>> writes;
      for (auto& n : picked)
        writes.emplace_back(n, *gen_value());
      return {bool(store.set_many(std::move(writes))), picked, {}};
    }
    case op::get_many: {
      auto picked =
        *gen::container<std::vector<std::string>>(*gen::inRange<std::size_t>(0, 4), gen_name());
      store.get_many(picked);
      return {true, {}, {}};  // a read: nothing may change either way
    }
  }
  return {};
}

} // namespace

TEST_CASE("any_sequence_of_operations_moves_versions_only_up_and_refusals_change_nothing") {
  const auto all_specs = specs();
  CHECK(rc::check("versions only go up; a refused op changes nothing", [&] {
    std::chrono::system_clock::time_point now{};
    variable_store store{3, [&] { return now; }};  // a small limit, so it is hit too
    const auto steps = *gen::inRange(1, 60);
    int refused = 0;
    for (int i = 0; i < steps; ++i) {
      now += std::chrono::seconds(1);  // a write that changed nothing keeps its old stamp
      const auto before = snapshot(store);
      const auto v_before = versions(store);
      const auto out = random_step(store, all_specs);
      const auto v_after = versions(store);
      RC_ASSERT(store.size() <= 3u);
      if (!out.accepted) {
        ++refused;
        RC_ASSERT(snapshot(store) == before);
        continue;
      }
      for (auto& [name, v] : v_after) {
        const bool wrote = std::find(out.written.begin(), out.written.end(), name)
                           != out.written.end();
        auto it = v_before.find(name);
        if (!wrote) {
          RC_ASSERT(it != v_before.end());  // nothing appears unwritten
          RC_ASSERT(v == it->second);
        } else {
          RC_ASSERT(v == (it == v_before.end() ? 1u : it->second + 1));
        }
      }
      for (auto& [name, v] : v_before) {
        const bool removed = std::find(out.removed.begin(), out.removed.end(), name)
                             != out.removed.end();
        RC_ASSERT(v_after.count(name) == (removed ? 0u : 1u));
      }
    }
    RC_CLASSIFY(refused > 0, "some ops refused");
    RC_CLASSIFY(store.size() == 3, "store full");
  }));
}

TEST_CASE("set_many_with_one_bad_write_among_random_ones_changes_nothing") {
  const auto all_specs = specs();
  CHECK(rc::check("set_many with one bad write changes nothing", [&] {
    variable_store store;
    variable_constraints small;
    small.min = 0;
    small.max = 3;
    RC_ASSERT(bool(store.register_variable("guard", variable_type::integer, 1, small)));
    const auto warmup = *gen::inRange(0, 20);
    for (int i = 0; i < warmup; ++i)
      random_step(store, all_specs);
    const auto before = snapshot(store);

    // A random subset of the names, each given a value, plus the guard's
    // refused write somewhere among them.
    const auto mask = *gen::container<std::vector<bool>>(names.size(), gen::arbitrary<bool>());
    std::vector<std::pair<std::string, json>> writes;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (mask[i])
        writes.emplace_back(names[i], *gen_value());
    const auto bad = *gen::element(json("three"), json(4), json(-1), json(0.5), json(nullptr));
    const auto at = *gen::inRange<std::size_t>(0, writes.size() + 1);
    writes.insert(writes.begin() + static_cast<std::ptrdiff_t>(at), {"guard", bad});

    auto r = store.set_many(std::move(writes));
    RC_ASSERT(!r);
    RC_ASSERT(snapshot(store) == before);
  }));
}

TEST_CASE("a_compare_and_set_at_the_current_version_wins_once") {
  CHECK(rc::check("CAS at the current version wins once", [] {
    variable_store store;
    const auto writes = *gen::inRange(0, 10);
    for (int i = 0; i < writes; ++i)
      RC_ASSERT(bool(store.set("x", i)));
    const uint64_t seen = writes == 0 ? 0 : store.get("x")->version;
    RC_ASSERT(bool(store.set("x", "first", seen)));
    auto second = store.set("x", "second", seen);
    RC_ASSERT(!second);
    RC_ASSERT(second.error().code() == errc::version_conflict);
    RC_ASSERT(store.get("x")->value == json("first"));
    RC_ASSERT(store.get("x")->version == seen + 1);
  }));
}
