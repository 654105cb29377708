/* A minimal reader for zip archives of stored (uncompressed) entries, as torch.save writes them.
 *
 * Reads the end-of-central-directory record (and its zip64 form for archives over 4 GB or 65535 entries),
 * the central directory and each entry's local header (whose extra field torch uses as padding to align
 * the data). Only method 0 (stored) entries can be read; others are listed but refused by zip_read.
 * Every offset and size is checked against the archive's length; zip_read verifies the entry's CRC-32.
 * Encrypted, multi-disk and compressed archives are refused with a message naming the file and reason.
 * The archive is read from a file (zip_open) or from memory (zip_open_mem, for tests and fuzzing).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/base/err.h"

typedef struct {
    char *name;
    uint64_t size;        /* uncompressed bytes */
    uint64_t comp_size;
    uint64_t data_offset; /* of the entry's bytes in the archive */
    uint32_t crc32;
    int method;           /* 0 stored, 8 deflate, ... */
} zip_entry;

typedef struct {
    char *path;           /* for messages */
    FILE *f;              /* file mode, or NULL */
    const uint8_t *mem;   /* memory mode, or NULL */
    uint64_t length;
    zip_entry *entries;
    size_t n_entries;
} zip_archive;

int zip_open(zip_archive *z, const char *path, mer_err *err);
/* The bytes must outlive the archive; `name` is used in messages. */
int zip_open_mem(zip_archive *z, const void *data, size_t size, const char *name, mer_err *err);
void zip_close(zip_archive *z);
const zip_entry *zip_find(const zip_archive *z, const char *name); /* NULL if absent */
/* The whole entry into a malloc'ed buffer (*data, e->size bytes plus a terminating 0), CRC-32 checked. */
int zip_read(const zip_archive *z, const zip_entry *e, void **data, mer_err *err);

uint32_t zip_crc32(uint32_t crc, const void *data, size_t n); /* start with crc = 0 */
