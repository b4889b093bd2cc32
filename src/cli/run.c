/*
 * run.c - `strm run`: the all-in-one process.
 *
 * Order of start: configuration, data_dir lock, DSMs and the log source registry
 * (config.db), store (recovers the WAL), pipeline threads, receivers, the flow path (flows
 * store, NetFlow/IPFIX/sFlow listeners, captures: flowpipe.c), control socket; then
 * "ready". Signals are blocked in every thread and taken
 * synchronously here with sigwait, so shutdown runs in a normal context: the control socket
 * and receivers stop first, the flow path drains into the flows store, then the pipeline
 * drains into the store, the stores flush, and the lock goes last.
 */
#include "cli.h"
#include "collect/collect.h"

#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Every TCP/TLS sender holds a descriptor: raise the soft limit to the hard one, so that
 * syslog.tcp_max_clients senders fit (the receivers also cap clients by this limit).
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        LOG_DEBUG("run", "open files limit raised from %llu to %llu", (unsigned long long)old,
                  (unsigned long long)rl.rlim_cur);
}

int cmd_run(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "usage: strm run [--config FILE]\n");
            return EXIT_USAGE;
        }
    }
    struct strm_config cfg;
    int rc = cli_load_config(&cfg, config_path);
    if (rc) return rc;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);

    static struct strm_stats stats;
    struct ariel_store *store = NULL;
    struct pipeline *pipe = NULL;
    struct collect *col = NULL;
    struct control *ctl = NULL;
    struct flowpipe *flows = NULL;
    struct logsource_registry *reg = NULL;
    int exit_code = EXIT_FAIL;
    int lock_fd = cli_lock_data_dir(&cfg);
    if (lock_fd < 0) return EXIT_FAIL;
    LOG_INFO("run", "openstrm %s starting, data_dir %s", STRM_VERSION, cfg.data_dir);
    if (cli_open_logsources(&cfg, false, &stats, &reg) != 0) goto out;
    cli_set_aql_resolvers(reg);
    if (cli_open_store(&cfg, false, &stats, &store) != 0) goto out;
    if (pipeline_start(&cfg, store, reg, true, &stats, &pipe) != 0) {
        LOG_ERROR("run", "cannot start the pipeline threads");
        goto out;
    }
    char err[1024];
    if (collect_start(&cfg, pipeline_input(pipe), pipeline_pool(pipe), &stats, &col, err,
                      sizeof(err)) != 0) {
        LOG_ERROR("run", "%s", err);
        goto out;
    }
    if (flowpipe_open(&cfg, &stats, true, &flows, err, sizeof(err)) != 0) {
        LOG_ERROR("run", "%s", err);
        goto out;
    }
    if (control_start(&cfg, store, &stats, &ctl) != 0) goto out;
    control_set_registry(ctl, reg);
    control_set_flows(ctl, flows);
    LOG_INFO("run", "ready");

    int sig = 0;
    for (;;) {
        if (sigwait(&sigs, &sig) != 0) continue;
        if (sig == SIGHUP) {
            LOG_INFO("run", "SIGHUP: configuration reload is not supported yet; ignored");
            continue;
        }
        break;
    }
    LOG_INFO("run", "signal %d: stopping", sig);
    exit_code = EXIT_OK;
out:
    control_stop(ctl);
    pipeline_begin_stop(pipe);
    collect_stop(col);
    flowpipe_close(flows);
    pipeline_stop(pipe);
    ariel_close(store);
    cli_set_aql_resolvers(NULL);
    logsource_close(reg);
    if (exit_code == EXIT_OK) {
        LOG_INFO("run", "stopped: %llu events and %llu flow records stored",
                 (unsigned long long)STRM_STAT_GET(&stats, stored),
                 (unsigned long long)STRM_STAT_GET(&stats, flow_stored));
    }
    close(lock_fd);
    return exit_code;
}
