if ENABLE_TESTS
# The identity cache and the NSS module (nss/).
check_PROGRAMS += tests/unit/test_cache

# The writer and the reader on files in a temporary directory (libauth0base.la: the error names).
tests_unit_test_cache_SOURCES = tests/unit/test_cache.c tests/unit/test_nss_fixture.h
tests_unit_test_cache_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cache_LDADD = nss/libauth0cache.la lib/libauth0base.la $(CMOCKA_LIBS)
endif
