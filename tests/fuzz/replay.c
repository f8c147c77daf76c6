/* replay.c - runs a libFuzzer harness over every file in the given folders, without libFuzzer, so
 * the seed corpus and every crash ever found stay fixed as ordinary ctest tests. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) { fprintf(stderr, "replay: cannot open folder %s\n", argv[a]); return 1; }
        struct dirent *ent;
        while ((ent = readdir(d))) {
            if (ent->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], ent->d_name);
            unsigned char *buf;
            size_t len;
            sf_err e = sf_read_file(path, SF_MAX_FILE_BYTES, &buf, &len);
            if (!e.ok) continue; /* sub-folders and unreadable entries */
            LLVMFuzzerTestOneInput(buf, len);
            free(buf);
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
