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
 * long-running daemon: the module's pages of the file are mapped; SSSD: its
 * caches hold every user); without it most timed calls touch a user's page
 * for the first time in the process. "warm_s" is how long that pass took.
 *
 * NSS_BENCH_DIRECT=MODULE (gridlink, sss): the module's own entry points,
 * _nss_MODULE_getpwnam_r and _nss_MODULE_getpwuid_r of libnss_MODULE.so.2,
 * are called instead of glibc's getpwnam_r and getpwuid_r. What that leaves
 * out is glibc's dispatch, and in it the nscd probe: without a running nscd,
 * glibc tries nscd's socket again every 100th lookup of the passwd database
 * (NSS_NSCD_RETRY; socket(2) + connect(2), refused), whatever the source,
 * i.e. about 1% of the calls timed through glibc, right at the p99.
 *
 * NSS_BENCH_WATCH_PID=PID (SSSD's sssd_nss): "watch" in the output holds the
 * read(2) calls and voluntary context switches of that process during the
 * timed calls (/proc/PID/io syscr, /proc/PID/status): a responder that
 * answered none of them read next to nothing, i.e. every timed lookup was
 * answered from SSSD's memory cache (/var/lib/sss/mc) inside this process.
 */
#include <dlfcn.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* read(2) calls and voluntary context switches of `pid` so far; -1 when unreadable. */
static void proc_counts(const char *pid, long *syscr, long *vcsw) {
  char path[64], line[256];
  *syscr = *vcsw = -1;
  snprintf(path, sizeof path, "/proc/%s/io", pid);
  FILE *f = fopen(path, "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "syscr: %ld", syscr) == 1) break;
    fclose(f);
  }
  snprintf(path, sizeof path, "/proc/%s/status", pid);
  f = fopen(path, "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "voluntary_ctxt_switches: %ld", vcsw) == 1) break;
    fclose(f);
  }
}

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getpwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
static getpwnam_fn direct_nam;
static getpwuid_fn direct_uid;

/* NSS_BENCH_DIRECT=MODULE: the module's entry points (exits 2 when it has none). */
static void direct_open(const char *module) {
  char lib[128], sym[128];
  snprintf(lib, sizeof lib, "libnss_%s.so.2", module);
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "nss_bench: %s\n", dlerror());
    exit(2);
  }
  snprintf(sym, sizeof sym, "_nss_%s_getpwnam_r", module);
  direct_nam = (getpwnam_fn)dlsym(h, sym);
  snprintf(sym, sizeof sym, "_nss_%s_getpwuid_r", module);
  direct_uid = (getpwuid_fn)dlsym(h, sym);
  if (!direct_nam || !direct_uid) {
    fprintf(stderr, "nss_bench: %s has no _nss_%s_getpwnam_r or _nss_%s_getpwuid_r\n", lib, module, module);
    exit(2);
  }
}

/* getpwnam_r through glibc, or the module's own entry point. */
static void by_name(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res) {
  if (!direct_nam) {
    getpwnam_r(name, pw, buf, len, res);
    return;
  }
  int err = 0;
  *res = direct_nam(name, pw, buf, len, &err) == NSS_STATUS_SUCCESS ? pw : NULL;
}

static void by_uid(uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **res) {
  if (!direct_uid) {
    getpwuid_r(uid, pw, buf, len, res);
    return;
  }
  int err = 0;
  *res = direct_uid(uid, pw, buf, len, &err) == NSS_STATUS_SUCCESS ? pw : NULL;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
  const char *direct = getenv("NSS_BENCH_DIRECT");
  if (direct && *direct) direct_open(direct);
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
  double warm_s = 0;
  if (argc > 2 && strcmp(argv[2], "warm") == 0) {
    double w0 = now_us();
    for (size_t k = 0; k < n; k++) {
      by_name(names[k], &pw, buf, sizeof buf, &res);
      by_uid(uids[k], &pw, buf, sizeof buf, &res);
    }
    warm_s = (now_us() - w0) / 1e6;
  }
  const char *watch = getenv("NSS_BENCH_WATCH_PID");
  long r0 = 0, c0 = 0, r1 = 0, c1 = 0;
  if (watch) proc_counts(watch, &r0, &c0);
  for (long i = 0; i < calls; i++) {
    size_t k = (size_t)i * 7919 % n;
    double t0 = now_us();
    by_name(names[k], &pw, buf, sizeof buf, &res);
    double t1 = now_us();
    if (!res || pw.pw_uid != uids[k]) misses++;
    by_uid(uids[k], &pw, buf, sizeof buf, &res);
    double t2 = now_us();
    if (!res || strcmp(pw.pw_name, names[k]) != 0) misses++;
    tn[i] = t1 - t0;
    tu[i] = t2 - t1;
  }
  if (watch) proc_counts(watch, &r1, &c1);
  qsort(tn, (size_t)calls, sizeof *tn, cmp);
  qsort(tu, (size_t)calls, sizeof *tu, cmp);
  printf("{\"calls\":%ld,\"users\":%zu,\"misses\":%ld,\"warm_s\":%.3f,\"getpwnam\":{\"p50\":%.3f,\"p99\":%.3f},\"getpwuid\":{\"p50\":%.3f,\"p99\":%.3f}", calls, n, misses,
         warm_s, tn[calls / 2], tn[calls * 99 / 100], tu[calls / 2], tu[calls * 99 / 100]);
  if (watch)
    printf(",\"watch\":{\"reads\":%ld,\"switches\":%ld}", r0 < 0 || r1 < 0 ? -1 : r1 - r0, c0 < 0 || c1 < 0 ? -1 : c1 - c0);
  printf("}\n");
  return misses ? 1 : 0;
}
