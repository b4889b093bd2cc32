/*
 * cli.h - private interface between the files of src/cli: the subcommands, the in-process
 * pipeline (parser and store threads) and the control socket.
 */
#ifndef STRM_CLI_H
#define STRM_CLI_H

#include "ariel/ariel.h"
#include "core/core.h"
#include "flow/flow.h"

#define STRM_VERSION "0.1.0"

/* Exit codes shared by all subcommands. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_qid(int argc, char **argv);
int cmd_logsources(int argc, char **argv);

/*
 * Common option handling: --config FILE. Loads defaults and the file; on error prints it and
 * returns EXIT_USAGE. *argi is advanced past the options it consumed.
 */
int cli_load_config(struct strm_config *cfg, const char *config_path);

/* Writes one CSV field (RFC 4180 quoting when it holds a comma, quote, CR or LF). */
void cli_csv_field(FILE *out, const char *s);

/* Creates data_dir (and parents) and takes its exclusive lock; returns the lock fd or -1. */
int cli_lock_data_dir(const struct strm_config *cfg);
/* Opens the store under data_dir/ariel with the config's storage settings. */
int cli_open_store(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                   struct ariel_store **out);
/* The same for a table: events under data_dir/ariel, flows under data_dir/flows. */
int cli_open_table(const struct strm_config *cfg, enum strm_table table, bool read_only,
                   struct strm_stats *stats, struct ariel_store **out);
/* The store directory of a table. */
void cli_table_dir(const struct strm_config *cfg, enum strm_table table, char *buf, size_t size);

/* ---------------------------------------------------------------- log sources, QIDs */

struct logsource_registry;

/*
 * Opens <data_dir>/config.db as the log source registry (read-write: creates it; loads the
 * user QIDs into the QID map). Calls dsm_init first (once per process). Prints errors.
 */
int cli_open_logsources(const struct strm_config *cfg, bool read_only, struct strm_stats *stats,
                        struct logsource_registry **out);
/* Points the AQL functions (QIDNAME, LOGSOURCENAME, ...) at the QID map and at reg. */
void cli_set_aql_resolvers(struct logsource_registry *reg);

/*
 * The `strm logsources` and `strm qid` subcommands run against a registry, here or inside
 * the running instance (control socket requests LOGSOURCES and QID carry argv). argv[0] is
 * the subcommand name ("list", "add", ...). Output to out, errors to err; returns the exit
 * code.
 */
int logsources_exec(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err);
int qid_exec(struct logsource_registry *reg, int argc, char **argv, FILE *out, FILE *err);
/*
 * `strm logsources` / `strm qid` main: [--config FILE] SUBCOMMAND ARGS. Asks the running
 * instance (request kind) or, without one, runs exec on config.db here; subcommands listed in
 * writers open it read-write under the data_dir lock.
 */
int cli_registry_command(int argc, char **argv, const char *kind, const char *const *writers,
                         int (*exec)(struct logsource_registry *, int, char **, FILE *, FILE *),
                         void (*usage_fn)(FILE *));
/* Client side: sends "<kind>\n" + argv joined by NUL bytes; -1 when no instance answers. */
int control_request_argv(const struct strm_config *cfg, const char *kind, int argc, char **argv);

/* ---------------------------------------------------------------- pipeline */

struct pipeline;

/*
 * Starts parser threads (raw -> parsed) and the store thread (parsed -> ariel). Raw batches
 * are pushed by receivers into pipeline_input(); batches come from pipeline_pool().
 */
int pipeline_start(const struct strm_config *cfg, struct ariel_store *store,
                   struct logsource_registry *reg, bool coalesce, struct strm_stats *stats,
                   struct pipeline **out);
struct strm_queue *pipeline_input(struct pipeline *p);
struct strm_pool *pipeline_pool(struct pipeline *p);
/*
 * Parsers run the DSMs with the log source registry (auto-discovery, counters); the store
 * thread coalesces (when coalesce is set) and syncs the registry's counters every few
 * seconds. Closes the input, drains every stage into the store (coalesced records
 * included), joins the threads, frees.
 */
void pipeline_stop(struct pipeline *p);
/*
 * Shutdown began (before the receivers stop): while the store cannot write (disk full), the
 * store thread stops retrying, so receivers blocked on full queues can end; what it could
 * not store is counted in store_errors and logged (the store's WAL keeps all it accepted).
 */
void pipeline_begin_stop(struct pipeline *p);
/*
 * ariel_append that waits out a full or failing disk (ENOSPC, EIO): retries with backoff,
 * ticking the store, logging an alarm every 10 s as component, until the store takes the
 * batch, or the stage's input queue in is closed or *stop (may be NULL) is set: shutdown.
 * A batch with aux (the flow pipeline's) goes in as its struct ariel_flowbatch
 * (ariel_append_flows). Returns the append's result.
 */
int cli_store_append_retry(struct ariel_store *store, struct strm_batch *b, struct strm_queue *in,
                           const atomic_bool *stop, const char *component);

/* ---------------------------------------------------------------- flows (src/cli/flowpipe.c) */

struct flowpipe;

/*
 * The flow data path: flow records (batches of STRM_EV_FLOW records from the flow receivers,
 * packet capture or `strm ingest --pcap`) -> flow store thread (direction and network from
 * the network hierarchy, then ariel_append into the flows store at <data_dir>/flows).
 * flowpipe_open opens that store; with receivers it also starts the NetFlow/IPFIX/sFlow
 * listeners and captures of cfg. flowpipe_close stops receivers, drains, flushes, closes.
 */
int flowpipe_open(const struct strm_config *cfg, struct strm_stats *stats, bool receivers,
                  struct flowpipe **out, char *err, size_t errlen);
void flowpipe_close(struct flowpipe *fp);
/* The flows store (for searches). */
struct ariel_store *flowpipe_store(struct flowpipe *fp);
/* Writes per-exporter and per-interface counter lines (for `strm stats`). */
void flowpipe_stats_write(struct flowpipe *fp, FILE *out);

/*
 * A flow_sink that fills batches from the flowpipe's pool and submits each full one (blocking:
 * backpressure). One per producing thread; flowpipe_sink_flush submits the partial batch.
 */
struct flowpipe_sink {
    struct flow_sink sink; /* what decoders are given (&s->sink) */
    struct flowpipe *fp;
    struct strm_batch *cur; /* ev[0]: the record being filled; aux: the records encoded */
    bool pending;           /* ev[0] was handed out and is not encoded yet */
};
void flowpipe_sink_init(struct flowpipe_sink *s, struct flowpipe *fp);
void flowpipe_sink_flush(struct flowpipe_sink *s);

/* ---------------------------------------------------------------- control socket */

struct control;

/* Serves STATS and SEARCH requests on <data_dir>/strm.sock. */
int control_start(const struct strm_config *cfg, struct ariel_store *store,
                  struct strm_stats *stats, struct control **out);
void control_stop(struct control *c);
/* Lets the control socket search the flows table and report the flow counters. */
void control_set_flows(struct control *c, struct flowpipe *fp);
/* Lets the control socket serve LOGSOURCES and QID requests and log source stats. */
void control_set_registry(struct control *c, struct logsource_registry *reg);
/* Client side: sends a request; copies the reply to stdout (or stderr on error).
 * Returns the exit code, or -1 when no instance answers on the socket. */
int control_request(const struct strm_config *cfg, const char *request, size_t len);
/* Path of the control socket for cfg into buf. */
int control_socket_path(const struct strm_config *cfg, char *buf, size_t size);

#endif
