/* Stored-entry zip reader (see io/zip.h). Layout (APPNOTE.TXT 6.3): local file headers with the data,
 * then the central directory, then [zip64 end record + locator] and the end-of-central-directory record,
 * which may be followed by a comment of up to 65535 bytes. */
#include "io/zip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define EOCD_LEN 22
#define MAX_ENTRIES (1u << 24)

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

uint32_t zip_crc32(uint32_t crc, const void *data, size_t n) {
    /* bytewise with a table built on the stack: no global state, fast enough for checkpoints */
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        tab[i] = c;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* n bytes at offset `off` of the archive, bounds-checked. */
static int read_at(const zip_archive *z, uint64_t off, void *dst, size_t n, const char *what, mer_err *err) {
    if (off > z->length || n > z->length - off)
        return mer_errf(err, "%s: truncated zip archive: %s (%zu bytes at offset %llu) lies beyond the end "
                             "of the %llu-byte file", z->path, what, n, (unsigned long long)off,
                        (unsigned long long)z->length);
    if (z->mem) {
        memcpy(dst, z->mem + off, n);
        return 0;
    }
    if (fseeko(z->f, (off_t)off, SEEK_SET) != 0 || fread(dst, 1, n, z->f) != n)
        return mer_errf(err, "%s: cannot read %s (%zu bytes at offset %llu): %s", z->path, what, n,
                        (unsigned long long)off, ferror(z->f) ? strerror(errno) : "unexpected end of file");
    return 0;
}

/* The central directory's position and entry count from the (zip64) end records. */
static int find_directory(zip_archive *z, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count, mer_err *err) {
    if (z->length < EOCD_LEN)
        return mer_errf(err, "%s: not a zip archive (only %llu bytes)", z->path, (unsigned long long)z->length);
    size_t tail = z->length < EOCD_LEN + 65535u ? (size_t)z->length : EOCD_LEN + 65535u;
    uint8_t *buf = malloc(tail);
    if (!buf) return mer_errf(err, "%s: out of memory", z->path);
    if (read_at(z, z->length - tail, buf, tail, "end of archive", err) < 0) {
        free(buf);
        return -1;
    }
    long at = -1;
    for (long i = (long)tail - EOCD_LEN; i >= 0; i--)
        if (le32(buf + i) == SIG_EOCD && (size_t)i + EOCD_LEN + le16(buf + i + 20) == tail) {
            at = i;
            break;
        }
    if (at < 0) {
        free(buf);
        return mer_errf(err, "%s: not a zip archive or truncated: no end-of-central-directory record in the "
                             "last %zu bytes", z->path, tail);
    }
    const uint8_t *e = buf + at;
    uint64_t eocd_off = z->length - tail + (uint64_t)at;
    if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != le16(e + 10)) {
        free(buf);
        return mer_errf(err, "%s: multi-disk zip archives are not supported", z->path);
    }
    *count = le16(e + 10);
    *cd_size = le32(e + 12);
    *cd_off = le32(e + 16);
    free(buf);
    if (*count == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu) {
        /* zip64: the locator sits just before the classic record and points at the zip64 record */
        uint8_t loc[20], rec[56];
        if (eocd_off < sizeof loc)
            return mer_errf(err, "%s: zip64 archive without its end-of-central-directory locator", z->path);
        if (read_at(z, eocd_off - sizeof loc, loc, sizeof loc, "zip64 locator", err) < 0) return -1;
        if (le32(loc) != SIG_EOCD64_LOC)
            return mer_errf(err, "%s: zip64 archive without its end-of-central-directory locator", z->path);
        if (read_at(z, le64(loc + 8), rec, sizeof rec, "zip64 end-of-central-directory record", err) < 0) return -1;
        if (le32(rec) != SIG_EOCD64)
            return mer_errf(err, "%s: bad zip64 end-of-central-directory record at offset %llu", z->path,
                            (unsigned long long)le64(loc + 8));
        *count = le64(rec + 32);
        *cd_size = le64(rec + 40);
        *cd_off = le64(rec + 48);
    }
    if (*cd_off > z->length || *cd_size > z->length - *cd_off)
        return mer_errf(err, "%s: truncated zip archive: the central directory (%llu bytes at offset %llu) lies "
                             "beyond the end of the %llu-byte file", z->path, (unsigned long long)*cd_size,
                        (unsigned long long)*cd_off, (unsigned long long)z->length);
    if (*count > MAX_ENTRIES || *count * 46 > *cd_size)
        return mer_errf(err, "%s: corrupt zip archive: %llu entries cannot fit a %llu-byte central directory",
                        z->path, (unsigned long long)*count, (unsigned long long)*cd_size);
    return 0;
}

/* Replace 0xffffffff sizes/offset by their values from the zip64 extra field (id 0x0001). */
static int apply_zip64(zip_archive *z, zip_entry *e, uint64_t *lfh, const uint8_t *x, size_t n, mer_err *err) {
    while (n >= 4) {
        uint16_t id = le16(x), len = le16(x + 2);
        if ((size_t)len + 4 > n) break;
        if (id == 0x0001) {
            const uint8_t *p = x + 4, *end = p + len;
            uint64_t *fields[3] = {&e->size, &e->comp_size, lfh};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu) continue;
                if (end - p < 8)
                    return mer_errf(err, "%s: entry '%s': zip64 extra field too short", z->path, e->name);
                *fields[i] = le64(p);
                p += 8;
            }
            return 0;
        }
        x += 4 + len;
        n -= 4 + (size_t)len;
    }
    if (e->size == 0xffffffffu || e->comp_size == 0xffffffffu || *lfh == 0xffffffffu)
        return mer_errf(err, "%s: entry '%s': zip64 sizes without a zip64 extra field", z->path, e->name);
    return 0;
}

static int parse_directory(zip_archive *z, mer_err *err) {
    uint64_t cd_off = 0, cd_size = 0, count = 0;
    if (find_directory(z, &cd_off, &cd_size, &count, err) < 0) return -1;
    uint8_t *cd = malloc(cd_size ? (size_t)cd_size : 1);
    z->entries = calloc(count ? (size_t)count : 1, sizeof *z->entries);
    if (!cd || !z->entries) {
        free(cd);
        return mer_errf(err, "%s: out of memory for a %llu-byte central directory", z->path,
                        (unsigned long long)cd_size);
    }
    int rc = -1;
    if (read_at(z, cd_off, cd, (size_t)cd_size, "central directory", err) < 0) goto done;
    size_t pos = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (cd_size - pos < 46 || le32(cd + pos) != SIG_CENTRAL) {
            mer_errf(err, "%s: corrupt zip archive: central directory entry %llu of %llu is malformed", z->path,
                     (unsigned long long)i, (unsigned long long)count);
            goto done;
        }
        const uint8_t *h = cd + pos;
        size_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
        if (cd_size - pos < 46 + nlen + xlen + clen) {
            mer_errf(err, "%s: corrupt zip archive: central directory entry %llu overruns the directory", z->path,
                     (unsigned long long)i);
            goto done;
        }
        zip_entry *e = &z->entries[z->n_entries];
        if (!(e->name = malloc(nlen + 1))) {
            mer_errf(err, "%s: out of memory", z->path);
            goto done;
        }
        z->n_entries++;
        memcpy(e->name, h + 46, nlen);
        e->name[nlen] = 0;
        if (strlen(e->name) != nlen) {
            mer_errf(err, "%s: corrupt zip archive: entry name with a NUL byte", z->path);
            goto done;
        }
        uint16_t flags = le16(h + 8);
        e->method = le16(h + 10);
        e->crc32 = le32(h + 16);
        e->comp_size = le32(h + 20);
        e->size = le32(h + 24);
        uint64_t lfh = le32(h + 42);
        if (flags & 1) {
            mer_errf(err, "%s: entry '%s' is encrypted; encrypted zip archives are not supported", z->path, e->name);
            goto done;
        }
        if (apply_zip64(z, e, &lfh, h + 46 + nlen, xlen, err) < 0) goto done;
        uint8_t lh[30];
        if (read_at(z, lfh, lh, sizeof lh, "local file header", err) < 0) goto done;
        if (le32(lh) != SIG_LOCAL) {
            mer_errf(err, "%s: corrupt zip archive: no local header for '%s' at offset %llu", z->path, e->name,
                     (unsigned long long)lfh);
            goto done;
        }
        e->data_offset = lfh + 30 + le16(lh + 26) + le16(lh + 28);
        if (e->data_offset > z->length || e->comp_size > z->length - e->data_offset) {
            mer_errf(err, "%s: truncated zip archive: entry '%s' (%llu bytes at offset %llu) lies beyond the end "
                          "of the %llu-byte file", z->path, e->name, (unsigned long long)e->comp_size,
                     (unsigned long long)e->data_offset, (unsigned long long)z->length);
            goto done;
        }
        pos += 46 + nlen + xlen + clen;
    }
    rc = 0;
done:
    free(cd);
    return rc;
}

static int open_common(zip_archive *z, const char *path, mer_err *err) {
    if (!(z->path = strdup(path))) {
        zip_close(z);
        return mer_errf(err, "%s: out of memory", path);
    }
    if (parse_directory(z, err) < 0) {
        zip_close(z);
        return -1;
    }
    return 0;
}

int zip_open(zip_archive *z, const char *path, mer_err *err) {
    memset(z, 0, sizeof *z);
    if (!(z->f = fopen(path, "rb"))) return mer_errf(err, "%s: cannot open: %s", path, strerror(errno));
    if (fseeko(z->f, 0, SEEK_END) != 0) {
        fclose(z->f);
        return mer_errf(err, "%s: cannot seek: %s", path, strerror(errno));
    }
    z->length = (uint64_t)ftello(z->f);
    return open_common(z, path, err);
}

int zip_open_mem(zip_archive *z, const void *data, size_t size, const char *name, mer_err *err) {
    memset(z, 0, sizeof *z);
    z->mem = data ? data : (const uint8_t *)"";
    z->length = data ? size : 0;
    return open_common(z, name, err);
}

void zip_close(zip_archive *z) {
    if (z->f) fclose(z->f);
    for (size_t i = 0; i < z->n_entries; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->path);
    memset(z, 0, sizeof *z);
}

const zip_entry *zip_find(const zip_archive *z, const char *name) {
    for (size_t i = 0; i < z->n_entries; i++)
        if (!strcmp(z->entries[i].name, name)) return &z->entries[i];
    return NULL;
}

int zip_read(const zip_archive *z, const zip_entry *e, void **data, mer_err *err) {
    *data = NULL;
    if (e->method != 0)
        return mer_errf(err, "%s: entry '%s' is compressed (method %d); only stored entries are supported, as "
                             "torch.save writes them", z->path, e->name, e->method);
    if (e->size != e->comp_size)
        return mer_errf(err, "%s: entry '%s': stored entry with differing sizes (%llu, %llu)", z->path, e->name,
                        (unsigned long long)e->size, (unsigned long long)e->comp_size);
    if (e->size >= SIZE_MAX) return mer_errf(err, "%s: entry '%s' is too large", z->path, e->name);
    uint8_t *buf = malloc((size_t)e->size + 1);
    if (!buf)
        return mer_errf(err, "%s: out of memory for entry '%s' (%llu bytes)", z->path, e->name,
                        (unsigned long long)e->size);
    if (read_at(z, e->data_offset, buf, (size_t)e->size, e->name, err) < 0) {
        free(buf);
        return -1;
    }
    buf[e->size] = 0;
    uint32_t crc = zip_crc32(0, buf, (size_t)e->size);
    if (crc != e->crc32) {
        free(buf);
        return mer_errf(err, "%s: entry '%s' is corrupt: CRC-32 %08x, the directory says %08x", z->path, e->name,
                        crc, e->crc32);
    }
    *data = buf;
    return 0;
}
