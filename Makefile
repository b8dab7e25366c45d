# lanswarm — a plain Makefile.
#
# Public targets (each installs missing Debian packages first, see `deps`):
#   make            every binary into bin/
#   make test       build and run every test (Catch2 summaries, then a total)
#   make asan       the tests built and run with AddressSanitizer + UBSan
#   make static     statically linked binaries into bin/static/ (docker images)
#   make bench      benchmarks; results go into doc/benchmarks.md by hand
#   make demo       the main job end to end on loopback: 1 coordinator, 3 peers (tests/demo/demo.sh)
#   make demo-docker  the same in docker compose: FROM-scratch images, a private network (docker/demo.sh)
#   make test-lan   scenarios on a LAN of network namespaces, tbf-shaped links (tests/lan/; root)
#   make test-faults  fault injection on the same testbed: kill -9, coordinator restart, a corrupt peer, disk full,
#                   40 stalling holders (root)
#   make bench-swarm  one seed, N getters on the testbed: lanswarm vs libtorrent vs a socat chain vs
#                   udpcast (root); BENCH_PLAN=default|curve|scenarios (BENCH_CURVE=1: the curve)
#   make sim        the swarm simulator (doc/simulation.md); make sim-large for N = 10,000
#   make fuzz       every libFuzzer target (clang-14; decoder, msg_<type>, fileinfo), FUZZ_SECONDS
#                   each (default 60), FUZZ_JOBS (default 2) at a time; see doc/fuzzing.md
#   make deps       install the Debian packages the build needs, if any is missing
#   make clean
#
# Internally each flavour (MODE=release|asan|static) builds in build/$(MODE)/
# through a recursive, parallel make of the `binaries` and `tests` targets.

SHELL := /bin/bash
.DEFAULT_GOAL := all
.SUFFIXES:

MODE ?= release
NPROC := $(shell nproc 2>/dev/null || echo 2)
BUILD := build/$(MODE)
SUBMAKE := $(MAKE) --no-print-directory -j$(NPROC)

# Everything a fresh Debian bookworm machine with only a toolchain lacks.
DEBIAN_PACKAGES := g++ make liburing-dev libxxhash-dev libtomlplusplus-dev catch2 libcli11-dev \
  libspdlog-dev libfmt-dev libsodium-dev nlohmann-json3-dev
# Only `make fuzz` needs these.
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev
FUZZ_SECONDS ?= 60

CXX := g++
CPPFLAGS := -I. -MMD -MP
CXXFLAGS := -std=c++20 -O2 -g -Wall -Wextra -Werror -pthread
LDFLAGS := -pthread
# xxHash's _dispatch entry points (run-time choice of SSE2/AVX2/AVX-512) are
# in Debian's shared library only; see fileinfo/xxh3.h.
LIBXXHASH := -lxxhash
LOGLIBS := -lspdlog -lfmt
SODIUM := -lsodium
BINDIR := bin

ifeq ($(MODE),asan)
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  # GCC 12's -Wmaybe-uninitialized misfires on sanitizer-instrumented
  # libstdc++ code (std::regex inside Catch2); the release build keeps it.
  CXXFLAGS += $(SAN) -Wno-maybe-uninitialized
  LDFLAGS += $(SAN)
  BINDIR := $(BUILD)/bin
endif
ifeq ($(MODE),static)
  # Debian ships spdlog, fmt and toml++ as shared libraries only, so the
  # static flavour compiles them in through their header-only forms.
  CPPFLAGS += -DFMT_HEADER_ONLY -DLANSWARM_STATIC
  LOGLIBS :=
  LDFLAGS += -static
  BINDIR := bin/static
else
  CPPFLAGS += -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB
endif

# Glue: code that runs on the event loop, linked into its binary only.
COORDINATOR_GLUE := coordinator/main.cc coordinator/server.cc
PEER_GLUE := peer/main.cc peer/daemon.cc peer/daemon_commands.cc peer/serve_session.cc peer/coordinator_link.cc peer/control.cc \
  peer/fetch_session.cc peer/downloader.cc peer/get_command.cc

# libcore.a: everything pure (no sockets, no liburing). Mains are separate.
# SocketAddress only converts address structs, so pure code may name holders.
PURE_NET_SRCS := common/net/socket_address.cc
CORE_SRCS := $(filter-out %/main.cc $(COORDINATOR_GLUE) $(PEER_GLUE),\
  $(wildcard common/*.cc common/auth/*.cc common/proto/*.cc fileinfo/*.cc coordinator/*.cc peer/*.cc)) $(PURE_NET_SRCS)
CORE_OBJS := $(CORE_SRCS:%.cc=$(BUILD)/%.o)
LIBCORE := $(BUILD)/libcore.a

# libnet.a: the io_uring loop, the only code that links liburing.
NET_SRCS := $(filter-out $(PURE_NET_SRCS),$(wildcard common/net/*.cc))
NET_OBJS := $(NET_SRCS:%.cc=$(BUILD)/%.o)
LIBNET := $(BUILD)/libnet.a

BINARIES := $(BINDIR)/fileinfo $(BINDIR)/coordinator $(BINDIR)/peer
COORDINATOR_OBJS := $(COORDINATOR_GLUE:%.cc=$(BUILD)/%.o)
PEER_OBJS := $(PEER_GLUE:%.cc=$(BUILD)/%.o)
CORE_LIBS := $(LIBCORE) $(LIBXXHASH) $(SODIUM) $(LOGLIBS)
NET_LIBS := $(LIBNET) $(CORE_LIBS) -luring

# Test-only programs with their own main(), built for `make test-faults` and never installed.
FAULT_TOOL_SRCS := tests/support/corrupt_peer.cc tests/support/stall_peer.cc
FAULT_TOOLS := $(BUILD)/tests/corrupt_peer $(BUILD)/tests/stall_peer
# Fixtures only the CLI tests link (a fake holder that reports to a live coordinator).
CLI_SUPPORT_SRCS := tests/support/fake_holder.cc
UNIT_SRCS := $(filter-out $(FAULT_TOOL_SRCS) $(CLI_SUPPORT_SRCS),$(wildcard tests/unit/*.cc tests/support/*.cc))
CLI_SRCS := $(wildcard tests/cli/*.cc) tests/support/subprocess.cc tests/support/temp_dir.cc tests/support/xxh3_collision.cc \
  tests/support/child_process.cc tests/support/scripted_client.cc tests/support/lying_holder.cc $(CLI_SUPPORT_SRCS)
CATCH_MAIN := $(BUILD)/tests/catch_main.o
UNIT_TESTS := $(BUILD)/tests/unit_tests
CLI_TESTS := $(BUILD)/tests/cli_tests
NET_TEST_SRCS := $(wildcard tests/net/*.cc) tests/support/temp_dir.cc
NET_TESTS := $(BUILD)/tests/net_tests
# Glue tests: the peer's loop-side handlers (every PEER_GLUE object but its
# main) on a real loop, against scripted sessions.
GLUE_TEST_SRCS := $(wildcard tests/glue/*.cc) tests/support/temp_dir.cc
GLUE_TESTS := $(BUILD)/tests/glue_tests
PEER_GLUE_LIB_OBJS := $(filter-out $(BUILD)/peer/main.o,$(PEER_OBJS))
# The swarm simulator (tests/sim/, doc/simulation.md): the pure policy of
# libcore on a modelled network; its world model is its unit tests' subject too.
SIM_SRCS := $(wildcard tests/sim/*.cc)
SIM_OBJS := $(SIM_SRCS:%.cc=$(BUILD)/%.o)
SIM_LIB_OBJS := $(filter-out $(BUILD)/tests/sim/main.o,$(SIM_OBJS))
SIM := $(BUILD)/tests/sim/swarm_sim
SIM_OUT := build/sim

.PHONY: all test asan static bench demo demo-docker test-lan test-faults bench-swarm deps fuzz clean binaries tests \
  fault-tools benches run-tests fuzz-binaries sim sim-large

all: deps
	@$(SUBMAKE) MODE=release binaries

test: deps
	@$(SUBMAKE) MODE=release binaries tests
	@$(MAKE) --no-print-directory MODE=release run-tests

asan: deps
	@$(SUBMAKE) MODE=asan binaries tests
	@$(MAKE) --no-print-directory MODE=asan run-tests

static: deps
	@$(SUBMAKE) MODE=static binaries

bench: deps
	$(call install_missing,socat)
	@$(SUBMAKE) MODE=release binaries benches
	@tests/bench/fileinfo_create.sh
	@echo
	@build/release/tests/bench/loop_throughput
	@echo
	@build/release/tests/bench/coordinator_load bin/coordinator
	@echo
	@build/release/tests/bench/peer_serve bin/peer
	@echo
	@build/release/tests/bench/handshake_bench
	@echo
	@build/release/tests/bench/chunk_verify_bench
	@echo
	@tests/bench/peer_get.sh

# The swarm simulator (doc/simulation.md): every scenario at N = 100 and
# equal links at N = 1,000, 200 chunks of 256 KiB, for the daemon's policy
# (grants and the coordinator's trees) and for the rule before it
# (--grant-slots 0: every request at once): `make sim`, run by CI.
# `make sim-large`: N = 10,000 x 1,000 chunks of 256 KiB (the chunk size
# `fileinfo create` picks for a file of 1,000 chunks), equal links, then the
# weak-uplink, slow-getter and churn swarms. One JSON line per run goes to
# $(SIM_OUT)/results.jsonl; SIM_ARGS adds swarm_sim options. Transparent huge
# pages for malloc (a glibc tunable): the simulator is bound by cache and TLB
# misses over gigabytes of per-peer state, 15% faster with them.
SIM_SCENARIOS := equal,fast-seed,slow-seed,weak-uplinks,slow-getters,churn,seed-leaves
SIM_RUN := GLIBC_TUNABLES=glibc.malloc.hugetlb=1 $(SIM)
sim: deps
	@$(SUBMAKE) MODE=release $(SIM)
	@mkdir -p $(SIM_OUT)
	@echo "The daemon's policy: holders grant two getters at a time, in turns of chunks, tree children first:"
	@$(SIM_RUN) --scenario $(SIM_SCENARIOS) --n 100 --chunks 200 --out $(SIM_OUT)/results.jsonl $(SIM_ARGS)
	@$(SIM_RUN) --scenario equal --n 1000 --chunks 200 --out $(SIM_OUT)/results.jsonl $(SIM_ARGS)
	@echo "The rule before grants (--grant-slots 0: every request at once):"
	@$(SIM_RUN) --scenario $(SIM_SCENARIOS) --n 100 --chunks 200 --grant-slots 0 --out $(SIM_OUT)/results.jsonl $(SIM_ARGS)
	@$(SIM_RUN) --scenario equal --n 1000 --chunks 200 --grant-slots 0 --out $(SIM_OUT)/results.jsonl $(SIM_ARGS)

sim-large: deps
	@$(SUBMAKE) MODE=release $(SIM)
	@mkdir -p $(SIM_OUT)
	@$(SIM_RUN) --scenario equal,weak-uplinks,slow-getters,churn --n 10000 --chunks 1000 \
	  --out $(SIM_OUT)/results.jsonl $(SIM_ARGS)

# DEMO_SIZE_MB (default 256) sets the size of the file it distributes.
demo: deps
	@$(SUBMAKE) MODE=release binaries
	@tests/demo/demo.sh

# The compose demo (docker-compose.yml, docker/README.md): installs docker.io
# and docker-compose when missing, starts dockerd when it does not answer
# (through systemd when it runs, else in the background, logging to
# /var/log/dockerd.log; it keeps running afterwards), then docker/demo.sh.
demo-docker: deps
	$(call install_missing,docker.io docker-compose)
	@$(SUBMAKE) MODE=static binaries
	@if ! docker info >/dev/null 2>&1; then \
	  if [ -d /run/systemd/system ]; then \
	    echo "starting dockerd: systemctl start docker"; systemctl start docker; \
	  else \
	    echo "starting dockerd in the background (log: /var/log/dockerd.log)"; \
	    setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null & \
	  fi; \
	  for i in $$(seq 30); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { echo "make: dockerd does not answer after 30 s; see /var/log/dockerd.log" >&2; exit 1; }; \
	fi
	@docker/demo.sh

# The LAN testbed (tests/lan/): network namespaces, a bridge and tbf-shaped
# links; needs root. LAN_ONLY=scenario runs one.
LAN_PACKAGES := iproute2 iputils-ping util-linux
test-lan: deps
	$(call install_missing,$(LAN_PACKAGES))
	@$(SUBMAKE) MODE=release binaries
	@tests/lan/test_lan.sh

# Fault injection on the testbed (tests/lan/test_faults.sh, doc/reliability.md):
# kill -9 of holders and getters, a coordinator restart, a peer serving
# corrupt chunks (tests/support/corrupt_peer.cc), a full disk (a tmpfs and
# an ext2 image on a loop device it mounts, and always unmounts), 40
# stalling holders next to an honest seed (tests/support/stall_peer.cc).
# FAULTS_ONLY=scenario runs one, FAULTS_SEED fixes the randomness.
FAULTS_PACKAGES := $(LAN_PACKAGES) mount coreutils e2fsprogs
test-faults: deps
	$(call install_missing,$(FAULTS_PACKAGES))
	@$(SUBMAKE) MODE=release binaries fault-tools
	@LANSWARM_FAULT_TOOLS=$(abspath build/release/tests) tests/lan/test_faults.sh

# The swarm benchmark on the testbed: lanswarm vs BitTorrent (python3-libtorrent
# + opentracker) vs two anchors, a pipelined socat | tee | socat chain and
# udpcast multicast (HTTP, nginx + curl, with BENCH_SYSTEMS). Plans:
# BENCH_PLAN=default (N = 8 and 16), BENCH_PLAN=curve or BENCH_CURVE=1 (N = 4..64
# at N x rate = 1.2 Gbit/s, T_min ~ 12 s), BENCH_PLAN=scenarios (equal,
# fast-seed, slow-seed, weak-uplinks, slow-getters at N = 8); BENCH_N,
# BENCH_RATE, BENCH_MIB, BENCH_SCENARIO, BENCH_SYSTEMS and the rest in
# tests/lan/bench_swarm.sh. Results, tables and gnuplot PNGs go to
# build/bench-swarm/ (copied into doc/ by hand).
BENCH_SWARM_PACKAGES := $(LAN_PACKAGES) iperf3 nginx-light curl opentracker gnuplot-nox python3-libtorrent \
  socat udpcast
bench-swarm: deps
	$(call install_missing,$(BENCH_SWARM_PACKAGES))
	@$(SUBMAKE) MODE=release binaries
	@tests/lan/bench_swarm.sh

# Installs only what is missing; `apt-get update` runs once, only then.
# $(call install_missing,PACKAGES)
define install_missing
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make: run as root, or install:$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update && apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEBIAN_PACKAGES))

# ---- fuzzing (tests/fuzz/, doc/fuzzing.md) ----
#
# libFuzzer targets, built by clang-14 with ASan and UBSan into build/fuzz/:
#   decoder      a stream of frames of any type: DecodeFrame and FrameBuffer
#   msg_<type>   one message decoder, one binary per name in FUZZ_MESSAGES,
#                all from tests/fuzz/message_fuzz.cc; a new message type is
#                one more word there (MessageTypeName in lower case)
#   fileinfo     ParseFileInfo (and toml++) on arbitrary text
# `make fuzz` runs each for FUZZ_SECONDS, FUZZ_JOBS at a time, on a corpus
# kept in build/fuzz/corpus/<target>; a crash is left in
# build/fuzz/artifacts/<target>/ and replays with `build/fuzz/<target> FILE`.
FUZZ_MESSAGES := hello error auth report query holders stats_request stats open bitfield have request chunk reject cancel
FUZZ_TARGETS := decoder $(FUZZ_MESSAGES:%=msg_%) fileinfo
FUZZ_JOBS ?= 2
# Frames of a few KiB reach every limit but the 4 MiB one (checked from the
# header alone); 64 KiB of text is a .fileinfo of ~3,000 chunks.
FUZZ_MAX_LEN := 4096
FUZZ_MAX_LEN_fileinfo := 65536

FUZZ_DIR := build/fuzz
FUZZ_CXX := clang++-14
FUZZ_CXXFLAGS := -std=c++20 -g -O1 -I. -DFMT_HEADER_ONLY -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer
FUZZ_CORE := common/proto/codec.cc common/proto/frame_buffer.cc common/status.cc common/toml_doc.cc \
  common/file_util.cc common/file_id.cc common/hex.cc fileinfo/fileinfo.cc fileinfo/digest_algorithm.cc \
  fileinfo/chunk_digest.cc fileinfo/chunk_digest_list.cc
FUZZ_LIB := $(FUZZ_DIR)/libfuzzcore.a
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

fuzz: deps
	$(call install_missing,$(FUZZ_PACKAGES))
	@$(SUBMAKE) fuzz-binaries
	@rm -rf $(FUZZ_DIR)/seeds && $(FUZZ_DIR)/write_seeds $(FUZZ_DIR)/seeds
	@echo "fuzzing $(words $(FUZZ_TARGETS)) targets for $(FUZZ_SECONDS) s each, $(FUZZ_JOBS) at a time (logs: $(FUZZ_DIR)/<target>.log)"
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -j$(FUZZ_JOBS) $(FUZZ_TARGETS:%=fuzz-run-%); rc=$$?; \
	echo "fuzzing took $$(( $$(date +%s) - start )) s"; exit $$rc

fuzz-binaries: $(FUZZ_BINS) $(FUZZ_DIR)/write_seeds
	@:

fuzz-run-%:
	@tests/fuzz/run_one.sh $* $(FUZZ_SECONDS) $(or $(FUZZ_MAX_LEN_$*),$(FUZZ_MAX_LEN))

$(FUZZ_DIR)/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@

# One object per message type from the one source.
$(FUZZ_DIR)/obj/tests/fuzz/message_fuzz_%.o: tests/fuzz/message_fuzz.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -DLANSWARM_FUZZ_MESSAGE='"$*"' -c $< -o $@

$(FUZZ_LIB): $(FUZZ_CORE:%.cc=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

# Reached only through pattern rules, so make would delete them as intermediate.
.SECONDARY: $(FUZZ_MESSAGES:%=$(FUZZ_DIR)/obj/tests/fuzz/message_fuzz_%.o)

$(FUZZ_DIR)/msg_%: $(FUZZ_DIR)/obj/tests/fuzz/message_fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ -o $@

$(FUZZ_DIR)/decoder $(FUZZ_DIR)/fileinfo: $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%_fuzz.o $(FUZZ_LIB)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ -o $@

# Plain clang, no fuzzer: it only encodes the samples.
$(FUZZ_DIR)/write_seeds: tests/fuzz/write_seeds.cc common/proto/codec.cc common/status.cc common/file_id.cc common/hex.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) -std=c++20 -O1 -I. -DFMT_HEADER_ONLY $^ -o $@

clean:
	rm -rf build bin

# ---- per-MODE rules (reached through SUBMAKE) ----

binaries: $(BINARIES)
fault-tools: $(FAULT_TOOLS)
tests: $(UNIT_TESTS) $(NET_TESTS) $(GLUE_TESTS) $(CLI_TESTS)
benches: $(BUILD)/tests/bench/measure $(BUILD)/tests/bench/fileinfo_parse_bench $(BUILD)/tests/bench/loop_throughput \
  $(BUILD)/tests/bench/coordinator_load $(BUILD)/tests/bench/peer_serve $(BUILD)/tests/bench/handshake_bench \
  $(BUILD)/tests/bench/chunk_verify_bench

run-tests:
	@LANSWARM_BIN_DIR=$(abspath $(BINDIR)) tests/run_tests.sh $(UNIT_TESTS) $(NET_TESTS) $(GLUE_TESTS) $(CLI_TESTS)

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(LIBCORE): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBNET): $(NET_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/fileinfo: $(BUILD)/fileinfo/main.o $(LIBCORE)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< $(CORE_LIBS) -o $@

$(BINDIR)/coordinator: $(COORDINATOR_OBJS) $(LIBNET) $(LIBCORE)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(COORDINATOR_OBJS) $(NET_LIBS) -o $@

$(BINDIR)/peer: $(PEER_OBJS) $(LIBNET) $(LIBCORE)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(PEER_OBJS) $(NET_LIBS) -o $@

# Unit tests link libcore.a and nothing that can open a socket.
$(SIM): $(SIM_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(SIM_OBJS) $(CORE_LIBS) -o $@

$(UNIT_TESTS): $(CATCH_MAIN) $(UNIT_SRCS:%.cc=$(BUILD)/%.o) $(SIM_LIB_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(CATCH_MAIN) $(UNIT_SRCS:%.cc=$(BUILD)/%.o) $(SIM_LIB_OBJS) $(CORE_LIBS) -o $@

$(CLI_TESTS): $(CATCH_MAIN) $(CLI_SRCS:%.cc=$(BUILD)/%.o) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(CATCH_MAIN) $(CLI_SRCS:%.cc=$(BUILD)/%.o) $(CORE_LIBS) -o $@

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(LIBCORE)
	$(CXX) $(LDFLAGS) $< $(CORE_LIBS) -o $@

$(BUILD)/tests/bench/loop_throughput: $(BUILD)/tests/bench/loop_throughput.o $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $< $(NET_LIBS) -o $@

$(BUILD)/tests/bench/peer_serve: $(BUILD)/tests/bench/peer_serve.o $(BUILD)/tests/support/child_process.o \
  $(BUILD)/tests/support/subprocess.o $(BUILD)/tests/support/temp_dir.o $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(NET_LIBS) -o $@

$(BUILD)/tests/bench/coordinator_load: $(BUILD)/tests/bench/coordinator_load.o \
  $(BUILD)/tests/support/child_process.o $(BUILD)/tests/support/temp_dir.o $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(NET_LIBS) -o $@

$(BUILD)/tests/corrupt_peer: $(BUILD)/tests/support/corrupt_peer.o $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $< $(NET_LIBS) -o $@

# The stalling holders lie as FakeHolder does (lying_holder) and report
# through the peer daemon's own coordinator link.
$(BUILD)/tests/stall_peer: $(BUILD)/tests/support/stall_peer.o $(BUILD)/tests/support/lying_holder.o \
  $(BUILD)/tests/support/temp_dir.o $(BUILD)/peer/coordinator_link.o $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(NET_LIBS) -o $@

# Loop tests: real sockets on loopback, so they link libnet.a and liburing.
$(NET_TESTS): $(CATCH_MAIN) $(NET_TEST_SRCS:%.cc=$(BUILD)/%.o) $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(CATCH_MAIN) $(NET_TEST_SRCS:%.cc=$(BUILD)/%.o) $(NET_LIBS) -o $@

$(GLUE_TESTS): $(CATCH_MAIN) $(GLUE_TEST_SRCS:%.cc=$(BUILD)/%.o) $(PEER_GLUE_LIB_OBJS) $(LIBNET) $(LIBCORE)
	$(CXX) $(LDFLAGS) $(CATCH_MAIN) $(GLUE_TEST_SRCS:%.cc=$(BUILD)/%.o) $(PEER_GLUE_LIB_OBJS) $(NET_LIBS) -o $@

-include $(shell find build/$(MODE) $(if $(filter fuzz-binaries,$(MAKECMDGOALS)),$(FUZZ_DIR)/obj) -name '*.d' 2>/dev/null)
