# The tests inspect and damage database files directly.
target_link_libraries(${target} PRIVATE SQLite::SQLite3)
