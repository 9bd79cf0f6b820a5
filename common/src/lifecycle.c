#include "analytics/lifecycle.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

static void lifecycle_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
}

int lifecycle_block_signals(void)
{
    sigset_t set;
    struct sigaction sa = {0};

    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1) {
        return -1;
    }
    lifecycle_sigset(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int lifecycle_wait(int timeout_ms)
{
    sigset_t set;
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    int sig;

    lifecycle_sigset(&set);
    sig = sigtimedwait(&set, NULL, &ts);
    if (sig == -1) {
        return 0; /* EAGAIN (timeout) or EINTR */
    }
    return sig;
}

long long lifecycle_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long lifecycle_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lifecycle_deadline(clockid_t clock, long long ms, struct timespec *ts)
{
    clock_gettime(clock, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
