# Real Python workers: the interpreter, and the package plus generated stubs
# on PYTHONPATH.
add_dependencies(${target} snakepit_python_stubs)
target_compile_definitions(${target} PRIVATE
  SNAKEPIT_TEST_PYTHON="/usr/bin/python3"
  SNAKEPIT_TEST_PYTHONPATH="${PROJECT_SOURCE_DIR}/python:${SNAKEPIT_PYTHON_GEN_DIR}")
