#include "support/h5_fixture.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "base/h5io.h"

int h5fx_reseal(const char *path, const char *kind)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? (uint8_t *)malloc((size_t)n) : NULL;
    int ok = buf && fread(buf, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (ok) {
        h5io_seal(buf, (size_t)n, kind);
        f = fopen(path, "wb");
        ok = f && fwrite(buf, 1, (size_t)n, f) == (size_t)n;
        if (f && fclose(f) != 0) ok = 0;
    }
    free(buf);
    return ok ? 0 : -1;
}

int h5fx_run_with_file_limit(long max_bytes, int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);   /* a write past the limit then fails with EFBIG */
        struct rlimit lim = {(rlim_t)max_bytes, (rlim_t)max_bytes};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(99);
        exit(fn(arg));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
