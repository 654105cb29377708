/* Stop-signal counter (runner/signals.h). */
#include "runner/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signals;

static void on_stop_signal(int sig) {
    if (stop_signals < 2) {
        stop_signals = stop_signals + 1;
        return;
    }
    /* third signal: give the default action back and re-raise it (async-signal-safe) */
    signal(sig, SIG_DFL);
    raise(sig);
}

int signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    int rc = 0;
    rc |= sigaction(SIGTERM, &sa, NULL);
    rc |= sigaction(SIGUSR1, &sa, NULL);
    rc |= sigaction(SIGINT, &sa, NULL);
    return rc ? -1 : 0;
}

int signals_level(void) { return (int)stop_signals; }
