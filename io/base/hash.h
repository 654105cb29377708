/* 64-bit FNV-1a: the one hash behind point ids, task ids, cache keys and task seeds. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* Continue hash h (start with FNV1A64_INIT) over n bytes. */
uint64_t fnv1a64(const void *data, size_t n, uint64_t h);
