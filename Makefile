# The two commands that matter: `make demo` and `make test`. Both install any
# missing Debian packages, configure once, build incrementally with both cores
# and run.
BUILD ?= build
JOBS  ?= 2
CMAKE_FLAGS ?=

.PHONY: deps configure build demo test bench install clean

deps:
	@bash cmake/debian-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DPython3_EXECUTABLE=/usr/bin/python3 $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/demos/snakepit-demo run --all

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

bench: build
	$(BUILD)/bench/snakepit-bench $(BENCH_ARGS)

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD)
