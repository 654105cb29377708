/* mer version: the versions report (runner/versions.c) and the share folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mer_version.h"
#include "runner/cli/commands.h"
#include "runner/versions.h"

int mer_share_dir(char *buf, size_t size) {
    struct stat st;
    const char *env = getenv("MER_SHARE");
    if (env && *env) return snprintf(buf, size, "%s", env) < (int)size && !stat(buf, &st) ? 0 : -1;
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0; /* PREFIX/bin */
        if (snprintf(buf, size, "%s/../share/mer/configs", exe) < (int)size && !stat(buf, &st)) {
            buf[strlen(buf) - strlen("/configs")] = 0;
            char *real = realpath(buf, NULL);
            if (real) snprintf(buf, size, "%s", real), free(real);
            return 0;
        }
    }
    if (snprintf(buf, size, "%s/configs", MER_SOURCE_DIR) < (int)size && !stat(buf, &st))
        return snprintf(buf, size, "%s", MER_SOURCE_DIR), 0;
    return -1;
}

int cmd_version(int argc, char **argv) {
    char share[4096];
    const int found = mer_share_dir(share, sizeof share) == 0;
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: mer version [--share]\n\n"
               "Print mer's version, the versions of the libraries it is linked with (as loaded, not as\n"
               "compiled against), the OpenBLAS kernel family in use, and the share folder.\n\n"
               "Options:\n"
               "  --share      print only the share folder (configs/, slurm/, ref/ of an installed tree:\n"
               "               PREFIX/share/mer next to PREFIX/bin/mer; else the source tree; MER_SHARE\n"
               "               overrides); exit 1 when none is found\n"
               "  -h, --help   this help\n");
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--share")) {
        if (!found) {
            fprintf(stderr, "mer version: no share folder (set MER_SHARE to PREFIX/share/mer)\n");
            return 1;
        }
        printf("%s\n", share);
        return 0;
    }
    if (argc > 1) return usage_error("version", "unknown option '%s'", argv[1]);
    fprint_versions(stdout);
    printf("  %-12s %s\n", "share", found ? share : "(none found; set MER_SHARE)");
    return 0;
}
