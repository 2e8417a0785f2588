if ENABLE_TESTS
# Benchmarks: built and run by tools/bench only (`make bench-programs`), never by make check.
EXTRA_PROGRAMS += bench/bench_login
bench_bench_login_SOURCES = bench/bench_login.c
bench_bench_login_CFLAGS = $(TEST_CFLAGS) $(PAM_CFLAGS)
bench_bench_login_LDADD = tests/libtestcommon.la $(CJSON_LIBS) $(PAMTEST_LIBS) $(PAM_LIBS)
BENCH_BINS = bench/bench_login
bench-programs: $(BENCH_BINS)
CLEANFILES += $(BENCH_BINS)
endif
