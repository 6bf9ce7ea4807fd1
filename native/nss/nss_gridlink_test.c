/*
 * nss_gridlink_test.c - asks glibc (getpwnam_r & co., so nsswitch.conf and
 * the real module loading) what it resolves, one query per line on stdin,
 * one answer per line on stdout; test/userdb/nss.test.ts runs it in a mount
 * namespace with its own nsswitch.conf and users database.
 *
 *   pwnam NAME [BUFLEN]   -> name:uid:gid:gecos:home:shell | notfound | error ERRNO
 *   pwuid UID [BUFLEN]
 *   grnam NAME [BUFLEN]   -> name:gid:member,member | notfound | error ERRNO
 *   grgid GID [BUFLEN]
 *   groups USER GID       -> gid,gid,...   (getgrouplist)
 *   pwnam-grow NAME       -> getpwnam() (glibc grows its buffer on ERANGE)
 *   setpwent | endpwent | setgrent | endgrent  -> ok
 *   getpwent [BUFLEN]     -> the next entry (getpwent_r) | end | error ERRNO
 *   getgrent [BUFLEN]     -> the next group (getgrent_r) | end | error ERRNO
 *   forkstorm NAME        -> 4 threads look NAME up without pause while the main
 *                            thread forks 200 children that each look it up
 *                            once: "ok N" (N children found it) or a hang
 *   forkstorm-ent NAME    -> the same while the 4 threads enumerate passwd and
 *                            group (setpwent/getpwent_r/endpwent) instead, and
 *                            each child also enumerates through the module's own
 *                            entry points (glibc's getpwent lock, not the
 *                            module's, may be copied held into a child)
 *
 * NAME "-" is the empty string; "%NN" escapes a byte (hostile names).
 */
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void unescape(char *s) {
  char *o = s;
  if (strcmp(s, "-") == 0) {
    *s = '\0';
    return;
  }
  for (char *p = s; *p; p++) {
    if (p[0] == '%' && p[1] && p[2]) {
      char hex[3] = {p[1], p[2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

static void print_pw(const struct passwd *pw) { printf("%s:%u:%u:%s:%s:%s\n", pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell); }

static void print_gr(const struct group *gr) {
  printf("%s:%u:", gr->gr_name, gr->gr_gid);
  for (char **m = gr->gr_mem; *m; m++) printf("%s%s", m == gr->gr_mem ? "" : ",", *m);
  printf("\n");
}

static volatile int storm_stop;
static const char *storm_name;

static void *storm_thread(void *arg) {
  (void)arg;
  char buf[1024];
  struct passwd pw, *res;
  while (!storm_stop) getpwnam_r(storm_name, &pw, buf, sizeof buf, &res);
  return NULL;
}

static void *storm_ent_thread(void *arg) {
  char buf[1024];
  struct passwd pw, *res;
  struct group gr, *gres;
  while (!storm_stop) {
    if ((long)arg & 1) {
      setpwent();
      while (!storm_stop && getpwent_r(&pw, buf, sizeof buf, &res) == 0 && res) {
      }
      endpwent();
    } else {
      setgrent();
      while (!storm_stop && getgrent_r(&gr, buf, sizeof buf, &gres) == 0 && gres) {
      }
      endgrent();
    }
  }
  return NULL;
}

static void forkstorm(const char *name, int ent) {
  pthread_t t[4];
  storm_name = name;
  storm_stop = 0;
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, ent ? storm_ent_thread : storm_thread, (void *)i);
  int found = 0;
  for (int i = 0; i < 200; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      char buf[1024];
      struct passwd pw, *res = NULL;
      alarm(10); /* a child stuck on a lock copied held dies, and is counted as not found */
      getpwnam_r(name, &pw, buf, sizeof buf, &res);
      if (ent && res) {
        /* the module glibc loaded (the lookup above loaded it), its enumeration called directly */
        void *h = dlopen("libnss_gridlink.so.2", RTLD_LAZY | RTLD_NOLOAD);
        enum nss_status (*set)(int) = h ? (enum nss_status (*)(int))dlsym(h, "_nss_gridlink_setpwent") : NULL;
        enum nss_status (*get)(struct passwd *, char *, size_t, int *) = h ? (enum nss_status (*)(struct passwd *, char *, size_t, int *))dlsym(h, "_nss_gridlink_getpwent_r") : NULL;
        enum nss_status (*end)(void) = h ? (enum nss_status (*)(void))dlsym(h, "_nss_gridlink_endpwent") : NULL;
        int e = 0;
        if (!set || !get || !end || set(0) != NSS_STATUS_SUCCESS || get(&pw, buf, sizeof buf, &e) != NSS_STATUS_SUCCESS) _exit(1);
        end();
      }
      _exit(res ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) found++;
  }
  storm_stop = 1;
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  printf("ok %d\n", found);
}

/* The enumeration commands; 0 when cmd is not one. */
static int enumeration(const char *cmd, const char *arg) {
  size_t buflen = arg ? strtoul(arg, NULL, 10) : 4096;
  if (strcmp(cmd, "setpwent") == 0) setpwent();
  else if (strcmp(cmd, "endpwent") == 0) endpwent();
  else if (strcmp(cmd, "setgrent") == 0) setgrent();
  else if (strcmp(cmd, "endgrent") == 0) endgrent();
  else if (strcmp(cmd, "getpwent") == 0 || strcmp(cmd, "getgrent") == 0) {
    char *buf = malloc(buflen ? buflen : 1);
    int rc;
    if (cmd[3] == 'p') {
      struct passwd pw, *res = NULL;
      rc = getpwent_r(&pw, buf, buflen, &res);
      if (rc == 0 && res) print_pw(res);
      else if (rc == ERANGE) printf("error ERANGE\n");
      else printf(rc == 0 || rc == ENOENT ? "end\n" : "error %s\n", strerror(rc));
    } else {
      struct group gr, *res = NULL;
      rc = getgrent_r(&gr, buf, buflen, &res);
      if (rc == 0 && res) print_gr(res);
      else if (rc == ERANGE) printf("error ERANGE\n");
      else printf(rc == 0 || rc == ENOENT ? "end\n" : "error %s\n", strerror(rc));
    }
    free(buf);
    return 1;
  } else
    return 0;
  printf("ok\n");
  return 1;
}

int main(void) {
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    char *cmd = strtok(line, " "), *arg = strtok(NULL, " "), *arg2 = strtok(NULL, " ");
    if (cmd && enumeration(cmd, arg)) {
      fflush(stdout);
      continue;
    }
    if (!cmd || !arg) {
      printf("usage\n");
      fflush(stdout);
      continue;
    }
    unescape(arg);
    size_t buflen = arg2 ? strtoul(arg2, NULL, 10) : 4096;
    char *buf = malloc(buflen ? buflen : 1);
    int rc = 0;
    if (strcmp(cmd, "pwnam") == 0 || strcmp(cmd, "pwuid") == 0) {
      struct passwd pw, *res = NULL;
      rc = cmd[2] == 'n' ? getpwnam_r(arg, &pw, buf, buflen, &res) : getpwuid_r((uid_t)strtoul(arg, NULL, 10), &pw, buf, buflen, &res);
      if (rc) printf("error %s\n", rc == ERANGE ? "ERANGE" : strerror(rc));
      else if (!res) printf("notfound\n");
      else print_pw(res);
    } else if (strcmp(cmd, "grnam") == 0 || strcmp(cmd, "grgid") == 0) {
      struct group gr, *res = NULL;
      rc = cmd[2] == 'n' ? getgrnam_r(arg, &gr, buf, buflen, &res) : getgrgid_r((gid_t)strtoul(arg, NULL, 10), &gr, buf, buflen, &res);
      if (rc) printf("error %s\n", rc == ERANGE ? "ERANGE" : strerror(rc));
      else if (!res) printf("notfound\n");
      else print_gr(res);
    } else if (strcmp(cmd, "groups") == 0) {
      gid_t groups[64];
      int n = 64;
      if (getgrouplist(arg, (gid_t)strtoul(arg2 ? arg2 : "0", NULL, 10), groups, &n) < 0) printf("error toomany\n");
      else {
        for (int i = 0; i < n; i++) printf("%s%u", i ? "," : "", groups[i]);
        printf("\n");
      }
    } else if (strcmp(cmd, "forkstorm") == 0 || strcmp(cmd, "forkstorm-ent") == 0) {
      forkstorm(arg, cmd[9] == '-');
    } else if (strcmp(cmd, "pwnam-grow") == 0) {
      errno = 0;
      struct passwd *pw = getpwnam(arg);
      if (pw) print_pw(pw);
      else printf(errno ? "error %s\n" : "notfound\n", strerror(errno));
    } else {
      printf("usage\n");
    }
    free(buf);
    fflush(stdout);
  }
  return 0;
}
