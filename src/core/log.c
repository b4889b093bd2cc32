/*
 * log.c - the one logging sink: lines on stderr, "time level component: message".
 *
 * Each line is formatted into a local buffer and written with one write(2), so lines from
 * different threads do not interleave.
 */
#include "core/core.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = STRM_LOG_INFO;

void strm_log_set_level(enum strm_log_level lvl)
{
    atomic_store(&log_level, (int)lvl);
}

void strm_log(enum strm_log_level lvl, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if ((int)lvl > atomic_load(&log_level)) return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[lvl], component);
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2) len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
