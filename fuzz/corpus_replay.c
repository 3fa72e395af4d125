/*
 * corpus_replay.c - runs the fuzz target over every file of a corpus directory, in
 * name order, without libFuzzer: the seed corpus (regressions included) becomes a test
 * in every build configuration (default, nothreads, debug, asan, ubsan, tsan).
 * Usage: corpus_replay DIRECTORY. Exits 0 after at least one input ran; the target
 * aborts on any finding.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int by_name(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

/* Reads `path` whole into a malloc'd buffer; NULL on error. */
static uint8_t* read_file(const char* path, size_t* size) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    uint8_t* data = NULL;
    size_t used = 0, capacity = 0, n = 0;
    do {
        if (used == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            uint8_t* bigger = realloc(data, capacity);
            if (bigger == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = bigger;
        }
        n = fread(data + used, 1, capacity - used, f);
        used += n;
    } while (n > 0);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = used;
    return data;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
        return 2;
    }
    DIR* dir = opendir(argv[1]);
    if (dir == NULL) {
        perror(argv[1]);
        return 2;
    }
    char** names = NULL;
    size_t count = 0, capacity = 0;
    for (struct dirent* e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 256;
            char** bigger = realloc(names, capacity * sizeof *names);
            if (bigger == NULL) {
                perror("realloc");
                return 2;
            }
            names = bigger;
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, by_name);
    int status = count > 0 ? 0 : 2;
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        size_t size = 0;
        uint8_t* data = read_file(path, &size);
        if (data == NULL) {
            fprintf(stderr, "cannot read %s\n", path);
            status = 2;
        } else {
            LLVMFuzzerTestOneInput(data, size);
            free(data);
        }
        free(names[i]);
    }
    free(names);
    printf("%zu corpus inputs replayed from %s\n", count, argv[1]);
    return status;
}
