/* Temporary files and start-up shared by the harnesses (see fuzz_common.h). */
#include "fuzz_common.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static char dir[512];
static char paths[4][700];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void cleanup(void) {
    if (dir[0]) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(void) {
    if (dir[0]) return;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/onnxtrain-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(cleanup);
}

const char *fuzz_dir(void) { return dir; }

const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t size) {
    char *path = paths[slot];
    snprintf(path, sizeof paths[slot], "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            perror(path);
            abort();
        }
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
