/* Small file-system helpers shared by io/ and core/ (one implementation each). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

/* mkdir -p: create `path` and its missing parents (mode 0777 & umask). Fails if a component is a file. */
int fs_mkdir_p(const char *path, mer_err *err);
/* Create the parent folders of a file path ("a/b/c.h5" -> a/b). */
int fs_mkdir_parent(const char *file_path, mer_err *err);
/* Read a whole file into *buf (malloc'ed, NUL-terminated for convenience; *len excludes the NUL). */
int fs_read_file(char **buf, size_t *len, const char *path, mer_err *err);
/* FNV-1a 64 of a file's bytes (io/base/hash.h), read in blocks: the checksum the ledger keeps of every
 * finished task file. */
int fs_checksum(const char *path, uint64_t *sum, mer_err *err);
