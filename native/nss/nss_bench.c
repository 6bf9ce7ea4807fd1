/*
 * nss_bench.c - times getpwnam_r and getpwuid_r through glibc (whatever
 * nsswitch.conf says), one call at a time, and prints p50/p99 in
 * microseconds as JSON. bench/nss.ts runs it in a mount namespace per
 * source (gridlink's module, files, SSSD).
 *
 *   nss_bench CALLS [warm]
 *   stdin: one "name uid" pair per line (the users to look up, in random order)
 *
 * warm: every user is looked up once, untimed, before the timed calls (a
 * long-running daemon: the module's pages of the file are mapped); without
 * it most timed calls touch a user's page for the first time in the process.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
  size_t cap = 1024, n = 0;
  char (*names)[64] = malloc(cap * sizeof *names);
  unsigned *uids = malloc(cap * sizeof *uids);
  char name[64];
  unsigned uid;
  while (scanf("%63s %u", name, &uid) == 2) {
    if (n == cap) {
      cap *= 2;
      names = realloc(names, cap * sizeof *names);
      uids = realloc(uids, cap * sizeof *uids);
    }
    strcpy(names[n], name);
    uids[n++] = uid;
  }
  if (!n) {
    fprintf(stderr, "nss_bench: no users on stdin\n");
    return 2;
  }
  double *tn = malloc((size_t)calls * sizeof *tn), *tu = malloc((size_t)calls * sizeof *tu);
  char buf[4096];
  struct passwd pw, *res;
  long misses = 0;
  if (argc > 2 && strcmp(argv[2], "warm") == 0)
    for (size_t k = 0; k < n; k++) {
      getpwnam_r(names[k], &pw, buf, sizeof buf, &res);
      getpwuid_r(uids[k], &pw, buf, sizeof buf, &res);
    }
  for (long i = 0; i < calls; i++) {
    size_t k = (size_t)i * 7919 % n;
    double t0 = now_us();
    getpwnam_r(names[k], &pw, buf, sizeof buf, &res);
    double t1 = now_us();
    if (!res || pw.pw_uid != uids[k]) misses++;
    getpwuid_r(uids[k], &pw, buf, sizeof buf, &res);
    double t2 = now_us();
    if (!res || strcmp(pw.pw_name, names[k]) != 0) misses++;
    tn[i] = t1 - t0;
    tu[i] = t2 - t1;
  }
  qsort(tn, (size_t)calls, sizeof *tn, cmp);
  qsort(tu, (size_t)calls, sizeof *tu, cmp);
  printf("{\"calls\":%ld,\"users\":%zu,\"misses\":%ld,\"getpwnam\":{\"p50\":%.3f,\"p99\":%.3f},\"getpwuid\":{\"p50\":%.3f,\"p99\":%.3f}}\n", calls, n, misses,
         tn[calls / 2], tn[calls * 99 / 100], tu[calls / 2], tu[calls * 99 / 100]);
  return misses ? 1 : 0;
}
