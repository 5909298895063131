/* Run folder ownership (see run_dir.h). */
#include "harness/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"

#define LOCK_NAME ".lock"

typedef enum { ST_EMPTY, ST_FINISHED, ST_UNFINISHED, ST_DAMAGED, ST_COUNT } rd_state;
typedef enum { ACT_GO, ACT_CLEAR, ACT_REFUSE, ACT_REUSE, ACT_RESUME, ACT_CONTINUE } rd_action;

/* What a run does with a folder in each state, by mode (RD_START, RD_RESUME, RD_RERUN, RD_REUSE,
 * RD_CONTINUE). ACT_RESUME continues from the checkpoint (a missing one is the resume's error to
 * report); continue mode's ACT_CONTINUE does so too, or clears the folder where none was written yet. */
static const rd_action decide[ST_COUNT][RD_MODE_COUNT] = {
    [ST_EMPTY] = {ACT_GO, ACT_GO, ACT_GO, ACT_GO, ACT_GO},
    [ST_FINISHED] = {ACT_REFUSE, ACT_REFUSE, ACT_CLEAR, ACT_REUSE, ACT_REUSE},
    [ST_UNFINISHED] = {ACT_REFUSE, ACT_RESUME, ACT_CLEAR, ACT_REFUSE, ACT_CONTINUE},
    [ST_DAMAGED] = {ACT_REFUSE, ACT_REFUSE, ACT_CLEAR, ACT_REFUSE, ACT_REFUSE},
};

static int fail(char *err, size_t errlen, const char *path, const char *what, int e)
{
    snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    return -1;
}

static int path_in(char *out, size_t n, const char *dir, const char *name)
{
    return snprintf(out, n, "%s/%s", dir, name) < (int)n ? 0 : -1;
}

int hx_run_dir_finished(const char *dir, const char *run_id, const char *hash, double *final_acc, char *why,
                        size_t whylen)
{
    char path[FIO_PATH_MAX + 32], *text = NULL, e[512], got_id[512] = "", got_hash[64] = "";
    static const char *const needed[] = {"result.json", "metrics.csv"};   /* model.h5 may be left out of a record */
    char ignore[8];
    if (!why) { why = ignore; whylen = sizeof ignore; }
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (path_in(path, sizeof path, dir, needed[i]) != 0 || !fio_exists(path)) {
            snprintf(why, whylen, "%s is missing", needed[i]);
            return 0;
        }
    }
    path_in(path, sizeof path, dir, "result.json");
    if (json_load(path, 1u << 20, &text, e, sizeof e) != 0) {
        snprintf(why, whylen, "%s", e);
        return 0;
    }
    double acc = 0;
    int ok = json_get_str(text, "run_id", got_id, sizeof got_id) == JSON_OK &&
             json_get_str(text, "config_hash", got_hash, sizeof got_hash) == JSON_OK &&
             json_get_num(text, "final_acc", &acc) == JSON_OK;
    free(text);
    if (!ok || strcmp(got_id, run_id) != 0 || strcmp(got_hash, hash) != 0) {
        snprintf(why, whylen, "result.json is of run '%s' (config hash %s), not of %s (hash %s)",
                 got_id, got_hash, run_id, hash);
        return 0;
    }
    if (final_acc) *final_acc = acc;
    return 1;
}

/* Calls fn on every entry of dir but ".", ".." and the lock; returns how many there were. */
static int each_entry(const char *dir, int (*fn)(const char *dir, const char *name))
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, LOCK_NAME)) continue;
        n++;
        if (fn && fn(dir, e->d_name) != 0) { n = -1; break; }
    }
    closedir(d);
    return n;
}

static int remove_file(const char *dir, const char *name)
{
    char path[FIO_PATH_MAX + 256];
    struct stat st;
    if (path_in(path, sizeof path, dir, name) != 0 || lstat(path, &st) != 0) return -1;
    return S_ISDIR(st.st_mode) ? 0 : unlink(path);   /* no run writes folders; leave them be */
}

static rd_state inspect(const char *dir, const char *run_id, const char *hash, double *acc, char *why, size_t n)
{
    char path[FIO_PATH_MAX + 32];
    if (each_entry(dir, NULL) == 0) return ST_EMPTY;
    path_in(path, sizeof path, dir, "result.json");
    if (!fio_exists(path)) return ST_UNFINISHED;
    return hx_run_dir_finished(dir, run_id, hash, acc, why, n) ? ST_FINISHED : ST_DAMAGED;
}

/* Takes the exclusive lock on fd: at once, or, when wait, after the process holding it (whose
 * pid the lock file holds) lets go. */
static int take_lock(int fd, int wait, const char *dir, const char *lock, char *err, size_t errlen)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    int e = errno;
    if (e != EWOULDBLOCK) return fail(err, errlen, lock, "cannot lock the run folder", e);
    char pid[32] = "?";
    ssize_t k = pread(fd, pid, sizeof pid - 1, 0);
    pid[k > 0 ? k : 1] = 0;
    pid[strcspn(pid, "\n")] = 0;
    if (!wait) {
        snprintf(err, errlen, "%s is being written by another harness run (pid %s); wait until it has "
                 "finished", dir, pid);
        return -1;
    }
    fprintf(stderr, "harness: %s is being written by another harness run (pid %s): waiting until it has "
            "finished, then reusing its result\n", dir, pid);
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) return fail(err, errlen, lock, "cannot lock the run folder", errno);
    return 0;
}

/* Creates (or opens) dir and takes its lock (see take_lock). */
static int lock_dir(hx_run_dir *d, int wait, char *err, size_t errlen)
{
    char parent[FIO_PATH_MAX], lock[FIO_PATH_MAX + 16];
    snprintf(parent, sizeof parent, "%s", d->path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (fio_mkdir_p(parent, err, errlen) != 0) return -1;
    }
    if (mkdir(d->path, 0777) == 0) d->created = 1;
    else if (errno != EEXIST) return fail(err, errlen, d->path, "cannot create the run folder", errno);
    path_in(lock, sizeof lock, d->path, LOCK_NAME);
    d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (d->lock_fd < 0) return fail(err, errlen, lock, "cannot open the run folder's lock", errno);
    if (take_lock(d->lock_fd, wait, d->path, lock, err, errlen) != 0) {
        close(d->lock_fd);
        d->lock_fd = -1;
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n) { /* the pid is a courtesy */ }
    return 0;
}

int hx_run_dir_take(hx_run_dir *d, const char *dir, const char *run_id, const char *hash, rd_mode mode,
                    char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
    if (snprintf(d->path, sizeof d->path, "%s", dir) >= (int)sizeof d->path)
        return fail(err, errlen, dir, "cannot use the run folder", ENAMETOOLONG);
    if (mode < 0 || mode >= RD_MODE_COUNT) return fail(err, errlen, dir, "unknown run folder mode", EINVAL);
    if (lock_dir(d, mode == RD_REUSE || mode == RD_CONTINUE, err, errlen) != 0) return -1;
    char why[1024] = "";
    double acc = 0;
    rd_state st = inspect(dir, run_id, hash, &acc, why, sizeof why);
    switch (decide[st][mode]) {
    case ACT_GO: return 0;
    case ACT_CLEAR: d->clear = 1; return 0;
    case ACT_REUSE: d->reuse = 1; return 0;
    case ACT_RESUME: d->resume = 1; return 0;
    case ACT_CONTINUE: {
        char ckpt[FIO_PATH_MAX + 32];
        path_in(ckpt, sizeof ckpt, dir, "model.h5");
        if (fio_exists(ckpt)) d->resume = 1;
        else d->clear = 1;
        return 0;
    }
    case ACT_REFUSE:
        if (st == ST_FINISHED)
            snprintf(err, errlen, "%s already holds the finished run %s (final test accuracy %.2f%%, see "
                     "result.json): the same config gives the same numbers; to train it again from scratch, "
                     "add --rerun (it clears the folder first)", dir, run_id, acc);
        else if (st == ST_UNFINISHED)
            snprintf(err, errlen, "%s holds an unfinished run of %s (no result.json): continue it with --resume, "
                     "or start over with --rerun (it clears the folder first)", dir, run_id);
        else
            snprintf(err, errlen, "%s does not hold one consistent run: %s; start over with --rerun (it clears "
                     "the folder first)", dir, why);
        break;
    }
    hx_run_dir_release(d, 0);
    return -1;
}

int hx_run_dir_open(hx_run_dir *d, const char *dir, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(err, errlen, dir, "not a run folder", stat(dir, &st) != 0 ? errno : ENOTDIR);
    if (snprintf(d->path, sizeof d->path, "%s", dir) >= (int)sizeof d->path)
        return fail(err, errlen, dir, "cannot use the run folder", ENAMETOOLONG);
    return lock_dir(d, 0, err, errlen);
}

int hx_run_dir_begin(hx_run_dir *d, char *err, size_t errlen)
{
    if (!d->clear) return 0;
    errno = 0;
    if (each_entry(d->path, remove_file) < 0)
        return fail(err, errlen, d->path, "cannot clear the run folder for --rerun", errno ? errno : EIO);
    d->clear = 0;
    return 0;
}

void hx_run_dir_release(hx_run_dir *d, int failed_setup)
{
    if (d->lock_fd < 0) return;
    if (failed_setup && d->created && each_entry(d->path, NULL) == 0) {
        char lock[FIO_PATH_MAX + 16];
        path_in(lock, sizeof lock, d->path, LOCK_NAME);
        unlink(lock);
        rmdir(d->path);
    }
    close(d->lock_fd);
    d->lock_fd = -1;
}
