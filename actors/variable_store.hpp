#pragma once
// One session's variables, owned by its session actor (single-threaded: the
// actor serialises access, so this class has no locks). Every operation
// either succeeds completely or changes nothing and returns a typed error.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/session_variable.hpp"

namespace snakepit {

class variable_store {
public:
  using clock_fn = std::function<std::chrono::system_clock::time_point()>;

  /// max_variables: register/set of a new name beyond it is invalid_argument.
  explicit variable_store(std::size_t max_variables = 10000, clock_fn clock = {});

  /// New variable at version 1. already_exists if the name is taken;
  /// invalid_argument for an empty name or bad constraints; invalid_value if
  /// the initial value breaks type or constraints.
  result<variable> register_variable(std::string name, variable_type type, nlohmann::json value,
                                     variable_constraints constraints = {});

  /// variable_not_found if absent.
  result<variable> get(const std::string& name) const;

  /// Writes a value (moved in and checked in place: a tensor is not copied on
  /// the way). An unknown name is created as type any (a plain value),
  /// version 1. With expected_version set this is compare-and-set:
  /// version_conflict unless the current version equals it (a missing
  /// variable has version 0, so expected_version 0 means "create only").
  result<variable> set(const std::string& name, nlohmann::json value,
                       std::optional<uint64_t> expected_version = std::nullopt);

  /// Adds delta (a json number) atomically. Integer variables need an
  /// integer delta (2.0 counts as 2, as values do; int64 overflow is
  /// invalid_value); float variables take either. A missing name is created as
  /// integer (integer delta) or float (float delta) holding delta. Other
  /// types: invalid_value. Constraints (min/max) are checked on the result.
  result<variable> increment(const std::string& name, const nlohmann::json& delta);

  /// variable_not_found if absent.
  result<void> remove(const std::string& name);

  /// All or nothing: the first missing name fails the whole call.
  result<std::vector<variable>> get_many(const std::vector<std::string>& names) const;
  /// All or nothing: every write is checked before any is applied; a name
  /// given twice is invalid_argument.
  result<std::vector<variable>> set_many(std::vector<std::pair<std::string, nlohmann::json>> writes);

  /// Sorted by name.
  std::vector<variable> list() const;
  std::size_t size() const;
  void clear();

private:
  /// A write that passed every check, waiting to be applied (set_many checks
  /// all writes before it applies any).
  struct staged_write {
    std::string name;
    variable_type type;
    nlohmann::json value;  // checked and normalised
  };

  result<staged_write> stage_write(const std::string& name, nlohmann::json value,
                                   std::optional<uint64_t> expected_version) const;
  variable commit(staged_write w);
  /// invalid_argument naming `name` if `new_names` more would pass max_variables.
  result<void> check_room_for(const std::string& name, std::size_t new_names) const;

  std::size_t max_variables_;
  clock_fn clock_;
  std::unordered_map<std::string, variable> vars_;
};

} // namespace snakepit
