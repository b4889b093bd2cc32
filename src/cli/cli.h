/*
 * cli.h - private interface between the files of src/cli: the subcommands, the in-process
 * pipeline (parser and store threads) and the control socket.
 */
#ifndef STRM_CLI_H
#define STRM_CLI_H

#include "ariel/ariel.h"
#include "core/core.h"

#define STRM_VERSION "0.1.0"

/* Exit codes shared by all subcommands. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_ingest(int argc, char **argv);

/*
 * Common option handling: --config FILE. Loads defaults and the file; on error prints it and
 * returns EXIT_USAGE. *argi is advanced past the options it consumed.
 */
int cli_load_config(struct strm_config *cfg, const char *config_path);

/* Creates data_dir (and parents) and takes its exclusive lock; returns the lock fd or -1. */
int cli_lock_data_dir(const struct strm_config *cfg);
/* Opens the store under data_dir/ariel with the config's storage settings. */
int cli_open_store(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                   struct ariel_store **out);

/* ---------------------------------------------------------------- pipeline */

struct pipeline;

/*
 * Starts parser threads (raw -> parsed) and the store thread (parsed -> ariel). Raw batches
 * are pushed by receivers into pipeline_input(); batches come from pipeline_pool().
 */
int pipeline_start(const struct strm_config *cfg, struct ariel_store *store,
                   struct strm_stats *stats, struct pipeline **out);
struct strm_queue *pipeline_input(struct pipeline *p);
struct strm_pool *pipeline_pool(struct pipeline *p);
/* Closes the input, drains every stage into the store, joins the threads, frees. */
void pipeline_stop(struct pipeline *p);

/* ---------------------------------------------------------------- control socket */

struct control;

/* Serves STATS and SEARCH requests on <data_dir>/strm.sock. */
int control_start(const struct strm_config *cfg, struct ariel_store *store,
                  struct strm_stats *stats, struct control **out);
void control_stop(struct control *c);
/* Client side: sends a request; copies the reply to stdout (or stderr on error).
 * Returns the exit code, or -1 when no instance answers on the socket. */
int control_request(const struct strm_config *cfg, const char *request, size_t len);
/* Path of the control socket for cfg into buf. */
int control_socket_path(const struct strm_config *cfg, char *buf, size_t size);

#endif
