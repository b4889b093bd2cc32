# The front door. `make` builds build/strm; `make run` and `make test` are the README's two
# commands: both install missing Debian packages first (scripts/deps.sh).
BUILD ?= build
ASAN ?= build-asan
FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
ARGS ?=

.PHONY: all deps run test unit fuzz bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	scripts/deps.sh build
	meson setup $(BUILD)

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) -Dfuzz=true -Db_lundef=false

deps:
	scripts/deps.sh test

run: all
	./$(BUILD)/strm run $(ARGS)

test: deps all $(ASAN)/build.ninja $(FUZZ)/build.ninja
	ninja -C $(ASAN)
	ninja -C $(FUZZ)
	tests/run

unit: all
	tests/run --unit

fuzz: deps $(FUZZ)/build.ninja
	ninja -C $(FUZZ)
	tests/fuzz/run $(FUZZ) $(FUZZ_SECONDS)

bench: all
	bench/ingest

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
