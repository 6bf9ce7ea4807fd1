/*
 * nss_gridlink.c - libnss_gridlink.so.2: the grid's customers as Linux users
 * and groups, without a directory server (users.resolver "gridlink").
 *
 *   /etc/nsswitch.conf:   passwd: files gridlink
 *                         group:  files gridlink
 *
 * Reads one local file, GRIDLINK_NSS_DB (/var/lib/gridlink/nss/users.cdb),
 * a cdb read with tinycdb (libcdb), which the supervisor writes and the relays
 * copy to every host; it is replaced by rename(), never rewritten in place, so
 * a reader sees one whole version. The layout is src/userdb/format.ts:
 *
 *   "!gridlink-users"  -> "1" NUL version NUL minUid   (more fields: ignored)
 *   "!gridlink-flags"  -> words separated by ',' ("enumerate"); optional
 *   "p:" name          -> name NUL uid NUL gid NUL gecos NUL home NUL shell
 *   "u:" uid           -> name
 *   "g:" name          -> name NUL gid NUL members (comma-separated)
 *   "G:" gid           -> name
 *
 * What holds, whatever the file contains:
 *  - no network, no lock held across anything that can block, no allocation
 *    but initgroups' array: the file is opened O_RDONLY|O_NONBLOCK, must be a
 *    regular file, and is mapped (libcdb) once per version (stat() per call);
 *  - a missing, truncated or corrupt file, another layout, a record that does
 *    not parse: "not found" (NSS_STATUS_NOTFOUND), logged to syslog once per
 *    kind of problem until a good file is seen again; never a crash;
 *  - only lower-case "0x" + 40 hex digits names are ever returned or looked
 *    up; no uid or gid 0 and no uid below the file's minUid;
 *  - a buffer too small: ERANGE with NSS_STATUS_TRYAGAIN (glibc grows it);
 *  - enumeration (setpwent/getpwent_r/endpwent, setgrent/getgrent_r/endgrent:
 *    `getent passwd` without a name) only when the file's "!gridlink-flags"
 *    record holds "enumerate" (the supervisor's users.gridlink.enumerate, off by
 *    default): otherwise it lists no customer. It walks the file of the version
 *    found at setpwent, on a mapping of its own (a new version renamed into
 *    place meanwhile changes nothing under it; the next setpwent sees it), with
 *    the lookups' checks: a record that would not be found by name is skipped.
 *
 * Why a record of its own for the flags, not a fourth field of the header:
 * modules built before it refuse a header of more than three fields (the whole
 * file would be "not found" on a host not yet upgraded); an unknown key is
 * ignored by them, and a file without it (written before) means no flag.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <unistd.h>

#ifndef GRIDLINK_NSS_DB
#define GRIDLINK_NSS_DB "/var/lib/gridlink/nss/users.cdb"
#endif

#define GL_EXPORT __attribute__((visibility("default")))
/*
 * The password field of every user and group: "*", no password and no shadow
 * entry to look for (as SSSD answers). With "x" PAM's pam_unix looks for a
 * shadow entry the module does not have and refuses the account: root's
 * `su <address>` failed with "Authentication failure". Customers never log in
 * with a password.
 */
#define NO_PASSWORD "*"
#define NAME_LEN 42
#define MAX_ID 0xfffffffeUL

/* ---- the open database ---------------------------------------------------- */

static pthread_mutex_t gl_lock = PTHREAD_MUTEX_INITIALIZER;
/* The enumerations' cursors (glibc serialises set/get/end*ent per database,
 * but passwd and group enumerate independently, and a program may call the
 * entry points itself). Never held together with gl_lock except around fork. */
static pthread_mutex_t gl_enum_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork() while another thread holds a lock would leave the child's copy
 * locked for ever (slurmstepd and sshd fork from threaded processes): the locks
 * are taken around fork (always in this order) and released on both sides. */
static void gl_prefork(void) {
  pthread_mutex_lock(&gl_enum_lock);
  pthread_mutex_lock(&gl_lock);
}
static void gl_postfork(void) {
  pthread_mutex_unlock(&gl_lock);
  pthread_mutex_unlock(&gl_enum_lock);
}
__attribute__((constructor)) static void gl_init(void) { pthread_atfork(gl_prefork, gl_postfork, gl_postfork); }
static struct {
  int open;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtim;
  struct cdb cdb;
  unsigned long min_uid;
} gl_db;

enum { P_MISSING = 1, P_NOT_REGULAR = 2, P_CORRUPT = 4, P_LAYOUT = 8, P_RECORD = 16 };
static unsigned gl_logged;

/* Atomic: the enumeration (under gl_enum_lock) logs too. */
static void gl_problem(unsigned kind, const char *what) {
  if (__atomic_fetch_or(&gl_logged, kind, __ATOMIC_RELAXED) & kind) return;
  syslog(LOG_AUTHPRIV | LOG_WARNING, "nss_gridlink: %s: %s: customers are not found until it is fixed", GRIDLINK_NSS_DB, what);
}

static void gl_release(struct cdb *c);
static void gl_close(void) {
  if (!gl_db.open) return;
  gl_release(&gl_db.cdb);
  gl_db.open = 0;
}

static int gl_is_name(const char *s, size_t n) {
  if (n != NAME_LEN || s[0] != '0' || s[1] != 'x') return 0;
  for (size_t i = 2; i < NAME_LEN; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

/* A decimal id of 1..10 digits, no sign, no leading zero, <= MAX_ID. */
static int gl_parse_id(const char *s, size_t n, unsigned long *out) {
  if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return 0;
  unsigned long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v > MAX_ID) return 0;
  *out = v;
  return 1;
}

/* Splits data into at most `max` NUL-separated fields; returns their count. */
static size_t gl_fields(const char *data, size_t len, const char **f, size_t *fl, size_t max) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= len && n < max; i++) {
    if (i == len || data[i] == '\0') {
      f[n] = data + start;
      fl[n] = i - start;
      n++;
      start = i + 1;
    }
  }
  return start <= len ? n + 1 : n; /* more fields than max: n+1 */
}

static const char *gl_value(const char *key, size_t klen, size_t *len) {
  if (cdb_find(&gl_db.cdb, key, (unsigned)klen) <= 0) return NULL;
  *len = cdb_datalen(&gl_db.cdb);
  return cdb_getdata(&gl_db.cdb);
}

#define GL_FLAG_ENUMERATE 1u

/* The words of the "!gridlink-flags" record (unknown ones ignored; no record: none). */
static unsigned gl_flags(struct cdb *c) {
  static const char fkey[] = "!gridlink-flags";
  if (cdb_find(c, fkey, sizeof fkey - 1) <= 0) return 0;
  size_t len = cdb_datalen(c);
  const char *v = cdb_getdata(c);
  if (!v) return 0;
  unsigned flags = 0;
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && v[j] != ',') j++;
    if (j - i == 9 && memcmp(v + i, "enumerate", 9) == 0) flags |= GL_FLAG_ENUMERATE;
    i = j + 1;
  }
  return flags;
}

/*
 * Opens the file now at the path into `c` (its own descriptor and mapping):
 * 1 with *st, *min_uid and *flags, or 0 (missing, not a regular file, not a
 * cdb, not of layout 1: logged, nothing left open).
 */
static int gl_open(struct cdb *c, struct stat *st, unsigned long *min_uid, unsigned *flags) {
  int fd = open(GRIDLINK_NSS_DB, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    gl_problem(P_MISSING, errno == ENOENT ? "missing" : "cannot be opened");
    return 0;
  }
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    close(fd);
    gl_problem(P_NOT_REGULAR, "not a regular file");
    return 0;
  }
  if (st->st_size < 2048 || (uint64_t)st->st_size > 0xffffffffULL || cdb_init(c, fd) != 0) {
    close(fd);
    gl_problem(P_CORRUPT, "not a cdb file (truncated or corrupt)");
    return 0;
  }
  static const char vkey[] = "!gridlink-users";
  const char *v = NULL;
  size_t vlen = 0;
  if (cdb_find(c, vkey, sizeof vkey - 1) > 0) {
    vlen = cdb_datalen(c);
    v = cdb_getdata(c);
  }
  const char *f[3];
  size_t fl[3];
  unsigned long ver;
  size_t nf = v ? gl_fields(v, vlen, f, fl, 3) : 0;
  /* 3 fields, or more (a later layout-1 writer's additions, ignored) */
  if (!v || nf < 3 || fl[0] != 1 || f[0][0] != '1' || !gl_parse_id(f[1], fl[1], &ver) || !gl_parse_id(f[2], fl[2], min_uid) || *min_uid == 0) {
    cdb_free(c);
    close(fd);
    gl_problem(P_LAYOUT, "not a gridlink users database of layout 1");
    return 0;
  }
  *flags = gl_flags(c);
  __atomic_store_n(&gl_logged, 0, __ATOMIC_RELAXED); /* a good file: the next problem is logged again */
  return 1;
}

static void gl_release(struct cdb *c) {
  int fd = cdb_fileno(c);
  cdb_free(c);
  close(fd);
}

/* The database of the file now at the path: 1 open, 0 none (not found). Called under gl_lock. */
static int gl_refresh(void) {
  struct stat st;
  if (stat(GRIDLINK_NSS_DB, &st) != 0) {
    gl_close();
    gl_problem(P_MISSING, "missing");
    return 0;
  }
  if (gl_db.open && st.st_dev == gl_db.dev && st.st_ino == gl_db.ino && st.st_size == gl_db.size &&
      st.st_mtim.tv_sec == gl_db.mtim.tv_sec && st.st_mtim.tv_nsec == gl_db.mtim.tv_nsec)
    return 1;
  gl_close();
  unsigned flags;
  if (!gl_open(&gl_db.cdb, &st, &gl_db.min_uid, &flags)) return 0;
  gl_db.open = 1;
  gl_db.dev = st.st_dev;
  gl_db.ino = st.st_ino;
  gl_db.size = st.st_size;
  gl_db.mtim = st.st_mtim;
  return 1;
}

/* ---- copying into the caller's buffer -------------------------------------- */

struct gl_buf {
  char *p;
  size_t left;
};

static char *gl_put(struct gl_buf *b, const char *s, size_t n) {
  if (b->left < n + 1) return NULL;
  char *out = b->p;
  memcpy(out, s, n);
  out[n] = '\0';
  b->p += n + 1;
  b->left -= n + 1;
  return out;
}

static int gl_text_ok(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == ':' || s[i] == '\n' || s[i] == '\0') return 0;
  return 1;
}

/* The name stored under "u:<id>" or "G:<id>". Under gl_lock. */
static int gl_name_of(char kind, unsigned long id, char name[NAME_LEN + 1]) {
  char key[16];
  int kl = snprintf(key, sizeof key, "%c:%lu", kind, id);
  size_t len;
  const char *v = gl_value(key, (size_t)kl, &len);
  if (!v) return 0;
  if (!gl_is_name(v, len)) {
    gl_problem(P_RECORD, "a record holds a name that is not a lower-case 0x address");
    return 0;
  }
  memcpy(name, v, NAME_LEN);
  name[NAME_LEN] = '\0';
  return 1;
}

/* Fills pwd from the value v of "p:<name>" (name: NAME_LEN bytes, checked), in a file of min_uid. */
static enum nss_status gl_fill_passwd(const char *name, const char *v, size_t len, unsigned long min_uid, long want_uid, struct passwd *pwd, char *buffer,
                                      size_t buflen, int *errnop) {
  const char *f[6];
  size_t fl[6];
  unsigned long uid, gid;
  if (gl_fields(v, len, f, fl, 6) != 6 || fl[0] != NAME_LEN || memcmp(f[0], name, NAME_LEN) != 0 || !gl_parse_id(f[1], fl[1], &uid) ||
      !gl_parse_id(f[2], fl[2], &gid) || uid == 0 || gid == 0 || uid < min_uid || fl[4] == 0 || f[4][0] != '/' || !gl_text_ok(f[3], fl[3]) ||
      !gl_text_ok(f[4], fl[4]) || !gl_text_ok(f[5], fl[5])) {
    gl_problem(P_RECORD, "a user record is malformed or names a system uid");
    return NSS_STATUS_NOTFOUND;
  }
  if (want_uid >= 0 && (unsigned long)want_uid != uid) {
    gl_problem(P_RECORD, "a uid record points at a user of another uid");
    return NSS_STATUS_NOTFOUND;
  }
  struct gl_buf b = {buffer, buflen};
  char *n = gl_put(&b, f[0], fl[0]), *pw = gl_put(&b, NO_PASSWORD, 1), *gecos = gl_put(&b, f[3], fl[3]), *dir = gl_put(&b, f[4], fl[4]),
       *shell = gl_put(&b, f[5], fl[5]);
  if (!shell || !dir || !gecos || !pw || !n) {
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
  }
  pwd->pw_name = n;
  pwd->pw_passwd = pw;
  pwd->pw_uid = (uid_t)uid;
  pwd->pw_gid = (gid_t)gid;
  pwd->pw_gecos = gecos;
  pwd->pw_dir = dir;
  pwd->pw_shell = shell;
  return NSS_STATUS_SUCCESS;
}

/* Fills pwd from "p:<name>" of the open database. Under gl_lock. */
static enum nss_status gl_passwd(const char *name, long want_uid, struct passwd *pwd, char *buffer, size_t buflen, int *errnop) {
  char key[2 + NAME_LEN];
  key[0] = 'p';
  key[1] = ':';
  memcpy(key + 2, name, NAME_LEN);
  size_t len;
  const char *v = gl_value(key, sizeof key, &len);
  if (!v) return NSS_STATUS_NOTFOUND;
  return gl_fill_passwd(name, v, len, gl_db.min_uid, want_uid, pwd, buffer, buflen, errnop);
}

/* Fills grp from the value v of "g:<name>" (name: NAME_LEN bytes, checked). */
static enum nss_status gl_fill_group(const char *name, const char *v, size_t len, long want_gid, struct group *grp, char *buffer, size_t buflen, int *errnop) {
  const char *f[3];
  size_t fl[3];
  unsigned long gid;
  if (gl_fields(v, len, f, fl, 3) != 3 || fl[0] != NAME_LEN || memcmp(f[0], name, NAME_LEN) != 0 || !gl_parse_id(f[1], fl[1], &gid) || gid == 0 ||
      (want_gid >= 0 && (unsigned long)want_gid != gid)) {
    gl_problem(P_RECORD, "a group record is malformed");
    return NSS_STATUS_NOTFOUND;
  }
  /* members: names separated by ',', each a customer name */
  size_t nmem = 0;
  for (size_t i = 0; i < fl[2];) {
    size_t j = i;
    while (j < fl[2] && f[2][j] != ',') j++;
    if (!gl_is_name(f[2] + i, j - i)) {
      gl_problem(P_RECORD, "a group record lists a member that is not a lower-case 0x address");
      return NSS_STATUS_NOTFOUND;
    }
    nmem++;
    i = j + 1;
  }
  struct gl_buf b = {buffer, buflen};
  /* the member array first, aligned for char* */
  size_t pad = (size_t)(-(uintptr_t)b.p) & (sizeof(char *) - 1);
  size_t arr = (nmem + 1) * sizeof(char *);
  if (b.left < pad + arr) {
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
  }
  char **mem = (char **)(void *)(b.p + pad);
  b.p += pad + arr;
  b.left -= pad + arr;
  char *n = gl_put(&b, f[0], fl[0]), *pw = gl_put(&b, NO_PASSWORD, 1);
  if (!n || !pw) {
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
  }
  size_t k = 0;
  for (size_t i = 0; i < fl[2]; i += NAME_LEN + 1) {
    if (!(mem[k++] = gl_put(&b, f[2] + i, NAME_LEN))) {
      *errnop = ERANGE;
      return NSS_STATUS_TRYAGAIN;
    }
  }
  mem[k] = NULL;
  grp->gr_name = n;
  grp->gr_passwd = pw;
  grp->gr_gid = (gid_t)gid;
  grp->gr_mem = mem;
  return NSS_STATUS_SUCCESS;
}

/* Fills grp from "g:<name>" of the open database. Under gl_lock. */
static enum nss_status gl_group(const char *name, long want_gid, struct group *grp, char *buffer, size_t buflen, int *errnop) {
  char key[2 + NAME_LEN];
  key[0] = 'g';
  key[1] = ':';
  memcpy(key + 2, name, NAME_LEN);
  size_t len;
  const char *v = gl_value(key, sizeof key, &len);
  if (!v) return NSS_STATUS_NOTFOUND;
  return gl_fill_group(name, v, len, want_gid, grp, buffer, buflen, errnop);
}

/* ---- the NSS entry points ---------------------------------------------------- */

GL_EXPORT enum nss_status _nss_gridlink_getpwnam_r(const char *name, struct passwd *pwd, char *buffer, size_t buflen, int *errnop) {
  if (!name || !gl_is_name(name, strnlen(name, NAME_LEN + 1))) return NSS_STATUS_NOTFOUND;
  pthread_mutex_lock(&gl_lock);
  enum nss_status s = gl_refresh() ? gl_passwd(name, -1, pwd, buffer, buflen, errnop) : NSS_STATUS_NOTFOUND;
  pthread_mutex_unlock(&gl_lock);
  return s;
}

GL_EXPORT enum nss_status _nss_gridlink_getpwuid_r(uid_t uid, struct passwd *pwd, char *buffer, size_t buflen, int *errnop) {
  if (uid == 0 || (unsigned long)uid > MAX_ID) return NSS_STATUS_NOTFOUND;
  pthread_mutex_lock(&gl_lock);
  char name[NAME_LEN + 1];
  enum nss_status s = NSS_STATUS_NOTFOUND;
  if (gl_refresh() && uid >= gl_db.min_uid && gl_name_of('u', uid, name)) s = gl_passwd(name, (long)uid, pwd, buffer, buflen, errnop);
  pthread_mutex_unlock(&gl_lock);
  return s;
}

GL_EXPORT enum nss_status _nss_gridlink_getgrnam_r(const char *name, struct group *grp, char *buffer, size_t buflen, int *errnop) {
  if (!name || !gl_is_name(name, strnlen(name, NAME_LEN + 1))) return NSS_STATUS_NOTFOUND;
  pthread_mutex_lock(&gl_lock);
  enum nss_status s = gl_refresh() ? gl_group(name, -1, grp, buffer, buflen, errnop) : NSS_STATUS_NOTFOUND;
  pthread_mutex_unlock(&gl_lock);
  return s;
}

GL_EXPORT enum nss_status _nss_gridlink_getgrgid_r(gid_t gid, struct group *grp, char *buffer, size_t buflen, int *errnop) {
  if (gid == 0 || (unsigned long)gid > MAX_ID) return NSS_STATUS_NOTFOUND;
  pthread_mutex_lock(&gl_lock);
  char name[NAME_LEN + 1];
  enum nss_status s = NSS_STATUS_NOTFOUND;
  if (gl_refresh() && gl_name_of('G', gid, name)) s = gl_group(name, (long)gid, grp, buffer, buflen, errnop);
  pthread_mutex_unlock(&gl_lock);
  return s;
}

/*
 * The groups `user` is a member of, added to *groupsp (glibc's initgroups,
 * getgrouplist). A customer is a member of its own private group only.
 */
GL_EXPORT enum nss_status _nss_gridlink_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size, gid_t **groupsp, long int limit,
                                                       int *errnop) {
  if (!user || !gl_is_name(user, strnlen(user, NAME_LEN + 1))) return NSS_STATUS_NOTFOUND;
  pthread_mutex_lock(&gl_lock);
  enum nss_status s = NSS_STATUS_NOTFOUND;
  char buf[512];
  struct group gr;
  int err = 0;
  if (gl_refresh() && gl_group(user, -1, &gr, buf, sizeof buf, &err) == NSS_STATUS_SUCCESS) {
    int member = 0;
    for (char **m = gr.gr_mem; *m; m++)
      if (strcmp(*m, user) == 0) member = 1;
    s = NSS_STATUS_SUCCESS;
    if (member && gr.gr_gid != group) {
      int have = 0;
      for (long i = 0; i < *start; i++)
        if ((*groupsp)[i] == gr.gr_gid) have = 1;
      if (!have) {
        if (*start == *size) {
          if (limit > 0 && *size >= limit) goto done; /* full: glibc stops there */
          long n = *size > 0 ? *size * 2 : 8;
          if (limit > 0 && n > limit) n = limit;
          gid_t *g = realloc(*groupsp, (size_t)n * sizeof(gid_t));
          if (!g) {
            *errnop = ENOMEM;
            s = NSS_STATUS_TRYAGAIN;
            goto done;
          }
          *groupsp = g;
          *size = n;
        }
        (*groupsp)[(*start)++] = gr.gr_gid;
      }
    }
  }
done:
  pthread_mutex_unlock(&gl_lock);
  return s;
}

/* ---- enumeration: getent passwd / getent group without a name --------------- */

/*
 * One cursor per database (glibc's getpwent and getgrent are process-wide,
 * serialised by glibc per database; gl_enum_lock guards them anyway). Each
 * enumeration maps the file of the version present at its start on its own
 * (not gl_db, which a lookup in another thread replaces when a new version
 * arrives): the records it walks stay mapped until endpwent/endgrent or the
 * next setpwent/setgrent, whatever is renamed into place meanwhile.
 */
struct gl_enum {
  int started; /* set*ent ran (or the first get*ent_r without it) */
  int open;    /* a file that allows enumeration is mapped */
  struct cdb cdb;
  unsigned long min_uid;
  unsigned pos; /* cdb_seqnext's cursor */
};
static struct gl_enum gl_pwent, gl_grent;

/* Under gl_enum_lock. */
static void gl_enum_end(struct gl_enum *e) {
  if (e->open) gl_release(&e->cdb);
  e->open = 0;
  e->started = 0;
}

/* Under gl_enum_lock. Nothing to walk when the file is missing or bad, or does not allow it. */
static void gl_enum_start(struct gl_enum *e) {
  gl_enum_end(e);
  e->started = 1;
  struct stat st;
  unsigned flags;
  if (!gl_open(&e->cdb, &st, &e->min_uid, &flags)) return;
  if (!(flags & GL_FLAG_ENUMERATE)) {
    gl_release(&e->cdb);
    return;
  }
  e->open = 1;
  cdb_seqinit(&e->pos, &e->cdb);
}

/* The next record keyed `kind`:<customer name>: 1 with its name (NAME_LEN bytes) and value, 0 at the end. Under gl_enum_lock. */
static int gl_enum_next(struct gl_enum *e, char kind, const char **name, const char **v, size_t *len) {
  if (!e->open) return 0;
  for (;;) {
    unsigned before = e->pos;
    int r = cdb_seqnext(&e->pos, &e->cdb);
    /* lengths that wrap around (a crafted file) could send the cursor back: it only moves forward */
    if (r < 0 || (r > 0 && e->pos <= before)) {
      gl_problem(P_CORRUPT, "a record's lengths run past the end (corrupt)");
      gl_release(&e->cdb);
      e->open = 0;
      return 0;
    }
    if (r == 0) return 0;
    unsigned kl = cdb_keylen(&e->cdb);
    const char *k = cdb_getkey(&e->cdb);
    if (!k || kl < 2 || k[0] != kind || k[1] != ':') continue;
    if (!gl_is_name(k + 2, kl - 2)) {
      gl_problem(P_RECORD, "a record's key is not a lower-case 0x address");
      continue;
    }
    const char *d = cdb_getdata(&e->cdb);
    if (!d) continue;
    *name = k + 2;
    *v = d;
    *len = cdb_datalen(&e->cdb);
    return 1;
  }
}

GL_EXPORT enum nss_status _nss_gridlink_setpwent(int stayopen) {
  (void)stayopen;
  pthread_mutex_lock(&gl_enum_lock);
  gl_enum_start(&gl_pwent);
  pthread_mutex_unlock(&gl_enum_lock);
  return NSS_STATUS_SUCCESS; /* also when there is nothing to list: glibc stops every later source on anything else */
}

GL_EXPORT enum nss_status _nss_gridlink_endpwent(void) {
  pthread_mutex_lock(&gl_enum_lock);
  gl_enum_end(&gl_pwent);
  pthread_mutex_unlock(&gl_enum_lock);
  return NSS_STATUS_SUCCESS;
}

GL_EXPORT enum nss_status _nss_gridlink_getpwent_r(struct passwd *pwd, char *buffer, size_t buflen, int *errnop) {
  pthread_mutex_lock(&gl_enum_lock);
  if (!gl_pwent.started) gl_enum_start(&gl_pwent);
  enum nss_status s = NSS_STATUS_NOTFOUND;
  for (;;) {
    unsigned at = gl_pwent.pos;
    const char *name, *v;
    size_t len;
    if (!gl_enum_next(&gl_pwent, 'p', &name, &v, &len)) {
      s = NSS_STATUS_NOTFOUND;
      break;
    }
    s = gl_fill_passwd(name, v, len, gl_pwent.min_uid, -1, pwd, buffer, buflen, errnop);
    if (s == NSS_STATUS_TRYAGAIN) {
      gl_pwent.pos = at; /* ERANGE: glibc asks again with a larger buffer, for the same entry */
      break;
    }
    if (s == NSS_STATUS_SUCCESS) break;
    /* a record the lookup would not return either: skipped (logged) */
  }
  pthread_mutex_unlock(&gl_enum_lock);
  return s;
}

GL_EXPORT enum nss_status _nss_gridlink_setgrent(int stayopen) {
  (void)stayopen;
  pthread_mutex_lock(&gl_enum_lock);
  gl_enum_start(&gl_grent);
  pthread_mutex_unlock(&gl_enum_lock);
  return NSS_STATUS_SUCCESS;
}

GL_EXPORT enum nss_status _nss_gridlink_endgrent(void) {
  pthread_mutex_lock(&gl_enum_lock);
  gl_enum_end(&gl_grent);
  pthread_mutex_unlock(&gl_enum_lock);
  return NSS_STATUS_SUCCESS;
}

GL_EXPORT enum nss_status _nss_gridlink_getgrent_r(struct group *grp, char *buffer, size_t buflen, int *errnop) {
  pthread_mutex_lock(&gl_enum_lock);
  if (!gl_grent.started) gl_enum_start(&gl_grent);
  enum nss_status s = NSS_STATUS_NOTFOUND;
  for (;;) {
    unsigned at = gl_grent.pos;
    const char *name, *v;
    size_t len;
    if (!gl_enum_next(&gl_grent, 'g', &name, &v, &len)) {
      s = NSS_STATUS_NOTFOUND;
      break;
    }
    s = gl_fill_group(name, v, len, -1, grp, buffer, buflen, errnop);
    if (s == NSS_STATUS_TRYAGAIN) {
      gl_grent.pos = at;
      break;
    }
    if (s == NSS_STATUS_SUCCESS) break;
  }
  pthread_mutex_unlock(&gl_enum_lock);
  return s;
}
