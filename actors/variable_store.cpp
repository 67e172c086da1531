#include "actors/variable_store.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace snakepit {

namespace {

using json = nlohmann::json;

error not_found(const std::string& name) {
  return error{errc::variable_not_found, "no variable " + name};
}

error empty_name() {
  return error{errc::invalid_argument, "a variable needs a non-empty name"};
}

error version_mismatch(const std::string& name, uint64_t expected, uint64_t actual) {
  return error{errc::version_conflict, name + ": expected version " + std::to_string(expected)
                                         + ", found " + std::to_string(actual)};
}

} // namespace

variable_store::variable_store(std::size_t max_variables, clock_fn clock)
  : max_variables_(max_variables), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] { return std::chrono::system_clock::now(); };
}

result<void> variable_store::check_room_for(const std::string& name, std::size_t new_names) const {
  if (vars_.size() + new_names > max_variables_)
    return error{errc::invalid_argument, name + ": the session holds " + std::to_string(vars_.size())
                                           + " variables, max_variables is "
                                           + std::to_string(max_variables_)};
  return {};
}

result<variable> variable_store::register_variable(std::string name, variable_type type,
                                                   nlohmann::json value,
                                                   variable_constraints constraints) {
  if (name.empty())
    return empty_name();
  if (vars_.count(name))
    return error{errc::already_exists, name + ": a variable of this name exists already"};
  if (auto ok = validate_constraints(type, constraints); !ok)
    return error{errc::invalid_argument, name + ": " + ok.error().message()};
  if (auto ok = check_room_for(name, 1); !ok)
    return ok.error();
  auto checked = check_value(name, type, constraints, std::move(value));
  if (!checked)
    return checked.error();
  variable v{name, type, std::move(*checked), std::move(constraints), 1, clock_()};
  return vars_.emplace(std::move(name), std::move(v)).first->second;
}

result<variable> variable_store::get(const std::string& name) const {
  auto it = vars_.find(name);
  if (it == vars_.end())
    return not_found(name);
  return it->second;
}

result<variable> variable_store::set(const std::string& name, nlohmann::json value,
                                     std::optional<uint64_t> expected_version) {
  auto staged = stage_write(name, std::move(value), expected_version);
  if (!staged)
    return staged.error();
  return commit(std::move(*staged));
}

result<variable_store::staged_write>
variable_store::stage_write(const std::string& name, nlohmann::json value,
                            std::optional<uint64_t> expected_version) const {
  auto it = vars_.find(name);
  const uint64_t current = it == vars_.end() ? 0 : it->second.version;
  if (expected_version && *expected_version != current)
    return version_mismatch(name, *expected_version, current);
  if (it == vars_.end()) {
    if (name.empty())
      return empty_name();
    if (auto ok = check_room_for(name, 1); !ok)
      return ok.error();
    auto checked = check_value(name, variable_type::any, {}, std::move(value));
    if (!checked)
      return checked.error();
    return staged_write{name, variable_type::any, std::move(*checked)};
  }
  auto checked = check_value(name, it->second.type, it->second.constraints, std::move(value));
  if (!checked)
    return checked.error();
  return staged_write{name, it->second.type, std::move(*checked)};
}

variable variable_store::commit(staged_write w) {
  auto now = clock_();
  auto it = vars_.find(w.name);
  if (it == vars_.end()) {
    variable v{w.name, w.type, std::move(w.value), {}, 1, now};
    return vars_.emplace(std::move(w.name), std::move(v)).first->second;
  }
  it->second.value = std::move(w.value);
  it->second.version += 1;
  it->second.updated_at = now;
  return it->second;
}

result<variable> variable_store::increment(const std::string& name, const nlohmann::json& delta) {
  if (!delta.is_number() || !std::isfinite(delta.get<double>()))
    return error{errc::invalid_value, name + ": delta " + delta.dump() + " is not a finite number"};
  auto it = vars_.find(name);
  if (it == vars_.end()) {
    if (name.empty())
      return empty_name();
    if (auto ok = check_room_for(name, 1); !ok)
      return ok.error();
    // The delta's own kind decides: 1 makes a counter, 0.5 an accumulator.
    const bool is_int = delta.is_number_integer();
    if (is_int && !as_int64(delta))
      return error{errc::invalid_value, name + ": delta " + delta.dump() + " is out of range"};
    auto type = is_int ? variable_type::integer : variable_type::float_;
    auto checked = check_value(name, type, {}, delta);
    if (!checked)
      return checked.error();
    variable v{name, type, std::move(*checked), {}, 1, clock_()};
    return vars_.emplace(name, std::move(v)).first->second;
  }
  auto& var = it->second;
  json sum;
  if (var.type == variable_type::integer) {
    auto d = as_int64(delta);
    if (!d)
      return error{errc::invalid_value, name + ": delta " + delta.dump()
                                          + " is not an integer (the variable is integer)"};
    int64_t out = 0;
    if (__builtin_add_overflow(var.value.get<int64_t>(), *d, &out))
      return error{errc::invalid_value, name + ": " + var.value.dump() + " + " + delta.dump()
                                          + " overflows a 64-bit integer"};
    sum = out;
  } else if (var.type == variable_type::float_) {
    sum = var.value.get<double>() + delta.get<double>();
  } else {
    return error{errc::invalid_value, name + ": increment needs an integer or float variable, not "
                                        + to_string(var.type)};
  }
  auto checked = check_value(name, var.type, var.constraints, std::move(sum));
  if (!checked)
    return checked.error();
  var.value = std::move(*checked);
  var.version += 1;
  var.updated_at = clock_();
  return var;
}

result<void> variable_store::remove(const std::string& name) {
  if (vars_.erase(name) == 0)
    return not_found(name);
  return {};
}

result<std::vector<variable>> variable_store::get_many(const std::vector<std::string>& names) const {
  std::vector<variable> out;
  out.reserve(names.size());
  for (auto& name : names) {
    auto it = vars_.find(name);
    if (it == vars_.end())
      return not_found(name);
    out.push_back(it->second);
  }
  return out;
}

result<std::vector<variable>>
variable_store::set_many(std::vector<std::pair<std::string, nlohmann::json>> writes) {
  // Phase one checks everything and touches nothing; phase two cannot fail.
  std::unordered_set<std::string> seen;
  std::size_t new_names = 0;
  for (auto& [name, value] : writes) {
    if (!seen.insert(name).second)
      return error{errc::invalid_argument, name + ": written twice in one set_many"};
    new_names += vars_.count(name) == 0;
  }
  if (new_names > 0) {
    auto first_new = std::find_if(writes.begin(), writes.end(),
                                  [this](const auto& w) { return vars_.count(w.first) == 0; });
    if (auto ok = check_room_for(first_new->first, new_names); !ok)
      return ok.error();
  }
  std::vector<staged_write> staged;
  staged.reserve(writes.size());
  for (auto& [name, value] : writes) {
    auto s = stage_write(name, std::move(value), std::nullopt);
    if (!s)
      return s.error();
    staged.push_back(std::move(*s));
  }
  std::vector<variable> out;
  out.reserve(staged.size());
  for (auto& s : staged)
    out.push_back(commit(std::move(s)));
  return out;
}

std::vector<variable> variable_store::list() const {
  std::vector<variable> out;
  out.reserve(vars_.size());
  for (auto& [name, v] : vars_)
    out.push_back(v);
  std::sort(out.begin(), out.end(),
            [](const variable& a, const variable& b) { return a.name < b.name; });
  return out;
}

std::size_t variable_store::size() const {
  return vars_.size();
}

void variable_store::clear() {
  vars_.clear();
}

} // namespace snakepit
