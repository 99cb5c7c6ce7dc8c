# libFuzzer target over the snapshot reader (tests/fuzz/tsnap_fuzz.c), with
# clang's -fsanitize=fuzzer,address,undefined.
#   make fuzz-smoke     the bounded run `make test` makes (FUZZ_SMOKE_SECONDS, default 45)
#   make fuzz-corpus    remake the committed seed corpus tests/fuzz/corpus/tsnap
# `make fuzz` (tests/fuzz.py) runs it longer. Include from the top Makefile.

FUZZ_CC := clang
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. $(WARN) \
               -Wno-missing-prototypes
TSNAP_FUZZ := $(BUILD)/fuzz/tsnap_fuzz
TSNAP_FUZZ_SRCS := tests/fuzz/tsnap_fuzz.c tests/unit/snap_fixture.c $(SNAP_LIB_SRCS) tools/turtle-snap/info.c \
                   tools/turtle-snap/decode.c tools/turtle-snap/load.c tools/turtle-snap/unframe.c \
                   $(BUILD)/tools/vmcs12_names.c
TSNAP_CORPUS := tests/fuzz/corpus/tsnap
FUZZ_SMOKE_SECONDS ?= 45

.PHONY: fuzz-smoke fuzz-corpus
$(TSNAP_FUZZ): $(TSNAP_FUZZ_SRCS) $(wildcard snapshot/*.h tools/turtle-snap/*.h tests/unit/snap_fixture.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(TSNAP_FUZZ_SRCS) -o $@

# New inputs go to a scratch corpus under the build directory; the
# committed one is only read.
fuzz-smoke: $(TSNAP_FUZZ)
	@mkdir -p $(BUILD)/fuzz/corpus-tsnap
	$(TSNAP_FUZZ) -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus-tsnap $(TSNAP_CORPUS)

$(BUILD)/fuzz/mk_tsnap_corpus: tests/fuzz/mk_tsnap_corpus.c tests/unit/snap_fixture.c $(SNAP_LIB_SRCS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -I. $(WARN) -Wno-missing-prototypes $^ -o $@

fuzz-corpus: $(BUILD)/fuzz/mk_tsnap_corpus
	rm -rf $(TSNAP_CORPUS) && mkdir -p $(TSNAP_CORPUS)
	$(BUILD)/fuzz/mk_tsnap_corpus $(TSNAP_CORPUS)
