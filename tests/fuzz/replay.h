/*
 * tests/fuzz/replay.h — the plain-build driver shared by the fuzz targets
 * in tests/fuzz/<target>/: without libFuzzer (HL_LIBFUZZER undefined) a
 * target's file includes this after defining LLVMFuzzerTestOneInput, and
 * becomes a program that feeds it every file named on its command line
 * (or every file of a named directory). ctest replays each corpus this way
 * in every build (tests/fuzz/fuzz_target.cmake); no clang needed.
 */
#ifndef HL_TESTS_FUZZ_REPLAY_H
#define HL_TESTS_FUZZ_REPLAY_H
#ifndef HL_LIBFUZZER

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hl_replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return 1;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (!n)
      break;
    len += n;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int n = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
          continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
        rc |= hl_replay_file(p);
        n++;
      }
      if (d)
        closedir(d);
    } else {
      rc |= hl_replay_file(argv[i]);
      n++;
    }
  }
  printf("replayed %d inputs\n", n);
  return rc || n == 0;
}

#endif
#endif
