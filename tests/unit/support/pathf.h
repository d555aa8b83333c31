/*
 * pathf.h - PATHF(buf, fmt, ...): snprintf a path (or any short text) into
 * a fixed buffer (an array, not a pointer), failing the running cmocka
 * test when the result would not fit, so a test never goes on with a
 * cut-off path. Include after <cmocka.h>.
 */
#ifndef CC_TEST_PATHF_H
#define CC_TEST_PATHF_H

#include <stdio.h>

#define PATHF(buf, ...) \
	assert_true((size_t)snprintf((buf), sizeof(buf), __VA_ARGS__) < sizeof(buf))

#endif
