/*
 * ariel_int.h - private to src/ariel: the row format shared by the WAL and the memtable, the
 * WAL writer and reader (wal.c), and the segment file (segment.c). Nothing outside
 * src/ariel includes this header.
 *
 * All on-disk integers are little-endian; this version stores them in host order and refuses
 * to build on a big-endian host (static assertion in row.c).
 */
#ifndef STRM_ARIEL_INT_H
#define STRM_ARIEL_INT_H

#include "ariel/ariel.h"

#include <limits.h>
#include <stdatomic.h>

#define ARIEL_COMP "ariel"

/* ---------------------------------------------------------------- row format (row.c) */

/*
 * One event serialized: a fixed part of ARIEL_ROW_FIXED bytes, then variable strings.
 *
 *   u64 seq
 *   the bytes of struct strm_event from starttime up to (not including) collectorip: the
 *     time, integer and IP fields at their natural width, no padding (checked statically)
 *   u8 sourcemac[6], u8 destinationmac[6]
 *   for username, hostname, appname, procid, msgid, properties, payload: varint len, bytes
 *   message: varint tag = len << 1 | slice; slice: varint offset into payload; else bytes
 *
 * A column's fixed bytes sit at ariel_row_off(col), so segment encoding reads a column
 * straight out of the row bytes without decoding the whole row.
 */
#define ARIEL_ROW_FIXED 178
/*
 * A flow record (flags has STRM_EV_FLOW; the flows table holds only these) is written in the
 * compact flow layout, marked by the top bit of its first u64 (ARIEL_ROW_COMPACT, masked off
 * by ariel_row_seq): only the columns of the flows table, at fixed offsets, less than 60% of
 * the bytes of the event layout (the WAL writes and the segment encoder reads every one):
 *
 *   u64 seq | ARIEL_ROW_COMPACT, i64 starttime, i64 storagetime,
 *   the bytes of struct strm_flow_fields up to applicationdetail (ARIEL_ROW_FLOW_FIXED),
 *   sourceip[16], destinationip[16], u16 sourceport, u16 destinationport, u8 protocolid,
 *   u8 flags, sourcemac[6], destinationmac[6], then applicationdetail: varint len, bytes.
 *
 * Older stores may hold flow rows in the event layout with the flow part after the MACs and
 * applicationdetail as a ninth string; they still decode (ARIEL_ROW_FLOW_FIXED bytes each).
 */
#define ARIEL_ROW_FLOW_FIXED offsetof(struct strm_flow_fields, applicationdetail)
#define ARIEL_ROW_COMPACT (1ull << 63)
#define ARIEL_ROW_COMPACT_FIXED (24 + ARIEL_ROW_FLOW_FIXED + 50)
/* username, hostname, appname, procid, msgid, properties, payload, message, applicationdetail */
#define ARIEL_ROW_NSTR 9
#define ARIEL_RS_PAYLOAD 6
#define ARIEL_RS_MESSAGE 7
#define ARIEL_RS_APPDETAIL 8

/* Upper bound of the encoded size of ev. */
size_t ariel_row_bound(const struct strm_event *ev);
/* Encodes ev with sequence number seq into p (ariel_row_bound bytes); returns bytes written. */
size_t ariel_row_encode(uint8_t *p, uint64_t seq, const struct strm_event *ev);
/* Sets the sequence number and storagetime of a row in the compact flow layout. */
void ariel_row_stamp(uint8_t *row, uint64_t seq, int64_t storagetime);
/*
 * Decodes one row of at most avail bytes into ev (strings point into p); returns bytes
 * consumed, or 0 when the bytes are not a well-formed row. seq may be NULL.
 */
size_t ariel_row_decode(const uint8_t *p, size_t avail, uint64_t *seq, struct strm_event *ev);
/*
 * Offset of a fixed (non-string) column inside a row of the event layout (compact false) or
 * the compact flow layout (true); SIZE_MAX when that layout does not have the column.
 */
size_t ariel_row_off(int col, bool compact);
static inline bool ariel_row_compact(const uint8_t *row)
{
    return row[7] & 0x80;
}
static inline uint64_t ariel_row_seq(const uint8_t *row)
{
    uint64_t v;
    __builtin_memcpy(&v, row, 8);
    return v & ~ARIEL_ROW_COMPACT;
}
static inline int64_t ariel_row_starttime(const uint8_t *row)
{
    int64_t v;
    __builtin_memcpy(&v, row + 8, 8);
    return v;
}
/*
 * The string columns of a row of at most avail bytes: out[k] for k in the order
 * username, hostname, appname, procid, msgid, properties, payload, message; for message,
 * *msg_slice is set and out[ARIEL_RS_MESSAGE].p points into the payload when it is a slice. Returns
 * the row length or 0.
 */
size_t ariel_row_strs(const uint8_t *row, size_t avail, struct strm_str out[ARIEL_ROW_NSTR],
                      bool *msg_slice);
/* Index into the ariel_row_strs array of a string column, or -1. */
int ariel_row_str_index(int col);

/*
 * The packed flow form: how the WAL holds the rows of a flows store (records of format
 * ARIEL_WAL_FLOWS), about a quarter of the compact flow layout's bytes. The memtable keeps the
 * compact layout; replay unpacks a record into compact rows again, byte for byte what the
 * memtable held (the layout's padding is zero in both). A record's body is the i64
 * storagetime of all its rows (ARIEL_FLOWPACK_HEAD bytes), then its rows, each:
 *
 *   u8 kinds: bits 0-1 sourceip, 2-3 destinationip, 4-5 flowsource, each ARIEL_PK_IP_*
 *      (flowsource may be ARIEL_PK_IP_SAME: the row before's); ARIEL_PK_MACS; ARIEL_PK_DETAIL
 *   u8 flags, u8 protocolid, u16 sourceport, u16 destinationport
 *   varints: zigzag(starttime - the row before's starttime, 0 before the first),
 *     zigzag(firstpackettime - starttime),
 *     zigzag(lastpackettime - firstpackettime), sourcebytes, destinationbytes,
 *     sourcepackets, destinationpackets, applicationid, flowinterface, vlan
 *   u8 sourceflags, destinationflags, flowtype, flowdirection, icmptype, icmpcode, sourcedscp
 *   the addresses by their kinds: none 0 bytes, IPv4 (IPv4-mapped) 4, other 16
 *   sourcemac[6], destinationmac[6] when ARIEL_PK_MACS; varint len + applicationdetail when
 *   ARIEL_PK_DETAIL (len > 0)
 */
enum {
    ARIEL_PK_IP_NONE = 0,
    ARIEL_PK_IP_V4 = 1,
    ARIEL_PK_IP_V6 = 2,
    ARIEL_PK_IP_SAME = 3,
    ARIEL_PK_MACS = 0x40,
    ARIEL_PK_DETAIL = 0x80,
};
#define ARIEL_FLOWPACK_MAX 200 /* a packed row's bytes at most, but applicationdetail's */
#define ARIEL_FLOWPACK_HEAD 8  /* the record's storagetime */
/* The state carried from row to row of one record; zero at its start. */
struct ariel_flowpack {
    int64_t prev_start;
    struct strm_ip flowsource;
    bool have_source;
};
size_t ariel_flowpack_bound(const struct strm_event *ev);
/* Packs one flow record (ariel_flowpack_bound bytes at p), all but its storagetime (the
 * record's); returns bytes written. */
size_t ariel_flowpack_put(uint8_t *p, const struct strm_event *ev, struct ariel_flowpack *st);
/* The same from a row of len bytes in the compact flow layout (at most ARIEL_FLOWPACK_MAX
 * bytes more than the row's). */
size_t ariel_flowpack_put_row(uint8_t *p, const uint8_t *row, size_t len,
                              struct ariel_flowpack *st);
/*
 * The rows rows of a packed record's body data (len bytes: head and rows) as compact rows
 * numbered from first_seq, in a buffer *out of *outlen bytes that the caller frees.
 * STRM_ERR_CORRUPT when the bytes are not exactly a head and rows packed rows; STRM_ERR_NOMEM.
 */
int ariel_flowpack_unpack(uint64_t first_seq, uint32_t rows, const uint8_t *data, size_t len,
                          uint8_t **out, size_t *outlen);

/* Room for need bytes in *p (capacity *cap, 64 KiB at least, doubling; realloc keeps the
 * bytes): 0 or STRM_ERR_NOMEM. */
int ariel_grow(uint8_t **p, size_t *cap, size_t need);

size_t ariel_varint_put(uint8_t *p, uint64_t v);
/* Returns bytes read, 0 when truncated or longer than 10 bytes. */
size_t ariel_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* ---------------------------------------------------------------- WAL (wal.c) */

#define ARIEL_WAL_MAGIC 0x314c5741u /* "AWL1" */
#define ARIEL_WAL_HDR 32
#define ARIEL_WAL_ROLL (64u << 20)
#define ARIEL_WAL_MAX_RECORD (1u << 30)
/* A record's format (its header's last u32): rows in the row format, or packed flow rows. */
#define ARIEL_WAL_ROWS 0u
#define ARIEL_WAL_FLOWS 1u
/* Covered WAL files kept for reuse (wal.c: overwriting a cached file costs the appending
 * thread far less than growing a new one), at most ARIEL_WAL_ROLL-odd bytes each. */
#define ARIEL_WAL_SPARES 8

struct ariel_wal {
    char dir[PATH_MAX]; /* <root>/wal */
    char path[PATH_MAX + 32];
    int fd; /* -1 until the first append after open or flush */
    uint64_t size;
    uint64_t reused_len;  /* the current file was a spare this long: its stale tail */
    uint64_t bytes_total; /* bytes in all WAL files, for ariel_info */
    bool pending;         /* written but not fsync'd */
    int64_t last_sync_ms;
    enum strm_fsync_policy policy;
    int last_errno; /* the error already logged; 0 after a success */
    /*
     * The interval policy's syncer thread (ariel_wal_syncer_start): it fsyncs the written
     * files every interval, so that the appending thread never waits for the disk. sl
     * guards sync_fd (a dup of the current file's fd), the retired fds (files rolled or
     * dropped since the last round: synced, then closed) and sstop.
     */
    bool syncer;
    pthread_t syncer_tid;
    pthread_mutex_t sl;
    pthread_cond_t scv;
    bool sstop;
    int sync_fd;
    _Atomic bool dirty; /* written since the syncer last took sync_fd */
    int retired[8];
    int nretired;
    int interval_ms;
    int sync_errno; /* the syncer's error already logged */
    /* covered files renamed <dir>/free-<n>.log, the next to be reused first */
    int nspare;
    uint64_t spare_id[ARIEL_WAL_SPARES];
    uint64_t next_spare_id;
    bool no_spares; /* the disk is full: covered files are deleted, none kept (below) */
};

struct ariel_wal_piece {
    const void *p;
    size_t len;
};

void ariel_wal_init(struct ariel_wal *w, const char *root, enum strm_fsync_policy policy,
                    uint64_t existing_bytes);
/* Closes the current file (fsync per policy): the next append starts a new one. */
void ariel_wal_roll(struct ariel_wal *w);
/*
 * Retires the WAL files whose records all lie below seq: files named with a first seq below
 * seq, other than the open one (the writer rolled a new file where seq begins). Up to
 * ARIEL_WAL_SPARES of them are kept as spares for reuse, the rest deleted.
 */
void ariel_wal_drop_before(struct ariel_wal *w, uint64_t seq);
/* With off, deletes the spares and keeps none until called again without (the disk is full:
 * a spare holds its space, which the reserve needs back before ingest resumes). */
void ariel_wal_spares_off(struct ariel_wal *w, bool off);
/*
 * Writes one record (header + the pieces, one pwritev) holding rows rows starting at
 * first_seq; fsyncs per policy. On error the file is cut back to its previous size and
 * STRM_ERR_IO returned; *seq_burnt is set when that failed too (see wal.c).
 */
int ariel_wal_append(struct ariel_wal *w, uint64_t first_seq, uint32_t rows, uint32_t format,
                     const struct ariel_wal_piece *pieces, int npieces, bool *seq_burnt);
/* fsync if data is pending (interval policy, without the syncer thread). */
int ariel_wal_sync(struct ariel_wal *w);
/* Starts the interval policy's syncer thread (see struct ariel_wal); 0 or an error (then the
 * writer's ariel_tick fsyncs, as before). Stopped by ariel_wal_close. */
int ariel_wal_syncer_start(struct ariel_wal *w, int interval_ms);
/* After a flush: closes the current file and deletes every WAL file (all are covered) and
 * every spare. */
void ariel_wal_drop_all(struct ariel_wal *w);
void ariel_wal_close(struct ariel_wal *w);

/* Called per WAL record during replay; data holds the record's rows in the row format (a
 * packed record unpacked). Nonzero stops. */
typedef int (*ariel_wal_record_fn)(uint64_t first_seq, uint32_t rows, const uint8_t *data,
                                   size_t len, void *arg);
/*
 * Reads every WAL file in order and calls fn per valid record. A torn or corrupt record
 * ends the last file (cut off there unless read_only) and skips the rest of an earlier one.
 * *bytes gets the total size of the WAL files; *first_seq_seen the first_seq of the first
 * valid record (UINT64_MAX if none).
 */
int ariel_wal_replay(const char *root, bool read_only, ariel_wal_record_fn fn, void *arg,
                     uint64_t *bytes, uint64_t *first_seq_seen, char *err, size_t errlen);

/*
 * fsck of the WAL files: checksums and row decoding of every record. in_use: a writer runs
 * (the last file may be growing: its tail is not judged). repair: cut a bad tail of the last
 * file. Problems go to report and into res.
 */
int ariel_wal_check(const char *root, bool repair, bool in_use, ariel_fsck_fn report, void *arg,
                    struct ariel_fsck_result *res, char *err, size_t errlen);

/* ---------------------------------------------------------------- dictionaries (dict.c) */

#define ARIEL_DICT_BYTES (256u << 10) /* a dictionary's size */
#define ARIEL_DICT_BLOCK (128u << 10) /* the raw bytes of a payload block compressed with one */
#define ARIEL_DICT_RETRAIN 1024       /* segments written with a dictionary before a new one */

/*
 * Trains a zstd dictionary of at most dict_cap bytes from (a sample of) the n payloads and
 * writes it durably under root/dict; *dict (malloc'd, dictionary bytes), *dictlen and *id
 * get it. STRM_ERR_INVAL when there is too little to learn from, STRM_ERR_IO or
 * STRM_ERR_NOMEM: then no dictionary is used (nothing else changes).
 */
int ariel_dict_train(const char *root, const struct strm_str *samples, size_t n, size_t dict_cap,
                     uint8_t **dict, size_t *dictlen, uint32_t *id);
/* The ZSTD_DDict of dictionary id of the store at root, loaded and checked once per process;
 * NULL when it is missing or damaged (logged). */
const void *ariel_dict_ddict(const char *root, uint32_t id);
/* Empties that cache (tests: a forked child reads the files again). No scan may run. */
void ariel_dict_forget(void);

/* ---------------------------------------------------------------- segments (segment.c) */

#define ARIEL_SEG_VERSION 1
#define ARIEL_SEG_HDR 104
#define ARIEL_SEG_DIRENT 64

/* Column flags (directory entry): the values are stored in blocks of rows (FIXED, NARROW and
 * IPV4 columns): u32 R, u32 B, B x u32 block size, B x zstd(R rows' values as encoded). */
#define ARIEL_COLF_BLOCKS 1u
/* The blocks of a blocked payload are compressed with the store's dictionary whose id is in
 * the entry's last 8 bytes (dict.c). */
#define ARIEL_COLF_DICT 2u
/* The blocks of a blocked string column (ARIEL_ENC_STRBLOCKS) each hold their rows' lengths:
 * block b is zstd(its rows' u32 lengths, then their bytes), there is no prelude (P = 0), so a
 * search reads nothing of a block it does not keep. Blocks of ARIEL_INLEN_MIN_ROWS rows or
 * more; smaller ones keep the prelude (a search decompresses all of such a column anyway). */
#define ARIEL_COLF_INLEN 4u
#define ARIEL_INLEN_MIN_ROWS 16u
/* A DELTA column ends with checkpoints, so that a search decodes only the chunks of rows it
 * reads: after the varints, K x (u64 offset of chunk k's first varint, i64 the value before
 * it), then u32 K and u32 rows per chunk (ARIEL_TIME_CHUNK). */
#define ARIEL_COLF_CKPT 8u
/* A blocked integer column (ARIEL_COLF_BLOCKS) whose prelude holds per-block statistics:
 * B x (i64 min, i64 max, u32 nulls: rows whose value is 0), P = B x ARIEL_BSTAT_SIZE. A
 * search skips the blocks a range condition rules out by them. */
#define ARIEL_COLF_BSTATS 16u
#define ARIEL_BSTAT_SIZE 20u
/* The blocks of a blocked fixed-width column that zstd would shrink by less than
 * ARIEL_RAWBLK_GAIN times are stored as they are: with this flag, a block whose stored size is
 * its rows' raw size is raw (the writer never stores a zstd frame of that size). Readers from
 * before the flag report such blocks as damaged. */
#define ARIEL_COLF_RAWBLK 32u
#define ARIEL_RAWBLK_GAIN 2u
#define ARIEL_TIME_CHUNK 1024u

enum ariel_enc {
    ARIEL_ENC_CONST = 1,     /* one raw value, uncompressed: the value of every row */
    ARIEL_ENC_FIXED = 2,     /* zstd(n values at the column's natural width) */
    ARIEL_ENC_DELTA = 3,     /* zstd(zigzag varint deltas of int64, first from 0) */
    ARIEL_ENC_STR = 4,       /* zstd(n u32 lengths, then the concatenated bytes) */
    ARIEL_ENC_MSGSLICE = 5,  /* zstd(n (u32 off, u32 len), then inline bytes); off ==
                                UINT32_MAX: inline, else a slice of the row's payload */
    ARIEL_ENC_BLOOM = 6,     /* an index blob (not a column): split-block Bloom filter */
    ARIEL_ENC_NARROW = 7,    /* zstd(n unsigned values at a narrower width w: rawsize = n * w,
                              * w in 1, 2, 4 and below the column's width) */
    ARIEL_ENC_IPV4 = 8,      /* IP column whose values are all IPv4 or null: zstd(n 4-byte
                              * addresses); 0.0.0.0 is null (not used when 0.0.0.0 occurs) */
    ARIEL_ENC_TOKBLOOM = 10, /* an index blob: the payload's token Bloom filters per block */
    ARIEL_ENC_STRDICT = 12,  /* a string column of few distinct values: zstd(u32 d, u32 w,
                              * d x u32 length, the d values' bytes, n x w-byte codes (w 1 or
                              * 2, little-endian) of each row's value); with
                              * ARIEL_COLF_BLOCKS the codes are in blocks after the rest
                              * (segment.c, encode_strdict_blocked) */
    ARIEL_ENC_STRBLOCKS = 9, /* a big string column in blocks, so that a search reads only the
                              * blocks of the rows it keeps: u32 rows per block R, u32 blocks
                              * B, u32 csize of the lengths, B x u32 csize of each block, then
                              * zstd(n u32 lengths) and B x zstd(the bytes of R rows); rawsize
                              * as ARIEL_ENC_STR (n * 4 + bytes) */
};

/*
 * Per-segment indexes are extra directory entries with id ARIEL_IDX_ID(col), type
 * ARIEL_IDX_TYPE: readers that do not know them ignore them (unknown ids). A Bloom filter of
 * the values of an IP or string column: u32 'BLM1', u32 nblocks, then nblocks blocks of
 * 8 u32 words; a key sets one bit in each word of block (h >> 32) * nblocks >> 32, the bit
 * (u32)h * salt[i] >> 27; h = XXH3_64bits of the value's bytes (16 for an IP; a string's
 * bytes, empty strings not indexed). About 10 bits per distinct value: ~1% false positives.
 */
#define ARIEL_IDX_ID(col) (0x4000 + (col))
#define ARIEL_IDX_TYPE 0xFE
#define ARIEL_IDX_MAX 4 /* index entries a segment may carry */
/*
 * A segment written by compaction (ariel.c) carries the ids of the segments it replaces, so
 * that recovery after a crash between its rename and the deletion of its inputs deletes
 * those instead of counting their rows twice: entry ARIEL_REPL_ID, type ARIEL_IDX_TYPE,
 * encoding ARIEL_ENC_IDLIST, n x u64 ids (also the ids those inputs replaced themselves).
 * Every listed id is below the segment's own: ids are never reused while it exists.
 */
#define ARIEL_REPL_ID 0x5000
#define ARIEL_ENC_IDLIST 11
/*
 * The payload's token index (entry ARIEL_IDX_ID(STRM_COL_PAYLOAD), ARIEL_ENC_TOKBLOOM): per
 * block of R rows, a Bloom filter (the format above) of the block's tokens, so that TEXT
 * SEARCH reads only the blocks that may hold all its words. A token is a maximal run of
 * ASCII letters and digits, lowercased; only tokens of at least ARIEL_TOKEN_MIN bytes are
 * indexed (shorter ones, "0", "12", "to", are everywhere and would only fill the filters);
 * h = ariel_token_hash (its first 256 bytes and its length). Layout: u32 'TKB1', u32 R, u32 B, B x
 * u32 filter length, the B filters.
 */
uint64_t ariel_token_hash(const char *p, size_t len);
/* Whether a Bloom blob (the bytes after its 8-byte head) may contain key h. */
bool ariel_bloom_may_contain(const uint8_t *blob, size_t len, uint64_t h);
uint64_t ariel_bloom_hash(const void *key, size_t len);

struct ariel_seg_col {
    uint16_t id;
    uint8_t type;
    uint8_t enc;
    uint32_t flags;
    uint64_t offset;
    uint64_t csize;
    uint64_t rawsize;
    uint64_t hash; /* XXH3_64bits of the csize stored bytes */
    int64_t min, max;
    uint64_t reserved;
};

struct ariel_segment {
    _Atomic int refs;
    _Atomic bool bad;     /* found corrupt once: logged, then skipped */
    _Atomic bool counted; /* counted in the store's corrupt_segments */
    char *path;
    uint64_t id;
    uint64_t rows;
    int64_t min_time, max_time;
    uint64_t min_seq, max_seq;
    uint64_t group_first; /* id of the first segment of the flush this one came from */
    uint32_t group_count;
    uint64_t seq_lo, seq_hi; /* the flush covered exactly the rows seq_lo..seq_hi */
    uint64_t file_size;
    uint32_t bucket; /* retention bucket (0: default) */
    uint32_t ncols;
    int col_index[STRM_COL__COUNT]; /* index into cols, -1 when the column is absent */
    int idx_index[STRM_COL__COUNT]; /* index into cols of the column's Bloom blob, or -1 */
    struct ariel_seg_col *cols;
    /* Bloom blobs read on first use (checked against their hash; NULL: not read yet);
     * bloom_bad: unreadable, so the segment is never skipped by that index */
    uint8_t *_Atomic bloom[STRM_COL__COUNT];
    _Atomic bool bloom_bad[STRM_COL__COUNT];
    /* the dictionaries of dictionary-coded columns with blocked codes, decoded and checked on
     * first use (segment.c, load_strdict_blocked), kept like the Bloom blobs */
    uint8_t *_Atomic sdict[STRM_COL__COUNT];
    int fd;             /* open from the load to the last reference: scans read through it */
    uint64_t *replaces; /* compacted segment: the ids it replaces (ARIEL_REPL_ID) */
    uint32_t nreplaces;
};

struct ariel_scan_ctx;
/* Whether segment g cannot hold a row matching every predicate: 0 no (scan it), 1 skipped by
 * min/max, 2 skipped by an index. Leaves the per-block filters in c for ariel_seg_scan of g. */
int ariel_seg_excluded(struct ariel_segment *g, struct ariel_scan_ctx *c,
                       const struct ariel_pred *preds, int npreds);

struct ariel_seg_meta {
    uint64_t id, group_first;
    uint32_t group_count;
    uint64_t seq_lo, seq_hi;
    uint32_t bucket; /* retention bucket of all its rows (header flags, low byte) */
    /* compaction: the ids of the segments this one replaces, and the rows' sequence range
     * (the rows it writes carry no sequence numbers of their own) */
    const uint64_t *replaces;
    uint32_t nreplaces;
    uint64_t min_seq, max_seq;
};

/* Scratch buffers of the (single) writer, reused across segments. */
struct ariel_seg_writer {
    void *cctx;       /* ZSTD_CCtx: whole columns (a 4 MiB window) */
    void *cctx_block; /* ZSTD_CCtx: the blocks of blocked columns (the level's own sizes) */
    uint8_t *raw, *comp;
    size_t rawcap, compcap;
    uint8_t *ckpt; /* a DELTA column's checkpoints (ARIEL_COLF_CKPT) */
    size_t ckptcap;
    int level;
    /* The string slices of every row of the segment being written, parsed once per segment
     * (not once per string column), one plane per string column the table stores: string k
     * of row i at strs[plane[k] * strs_rows + i] (plane[k] < 0: not stored); slices[row]. */
    struct strm_str *strs;
    bool *slices;
    size_t strs_rows;
    /* the bytes of each short-string plane's values, copied together (split_rows): the
     * column's passes read them in order, not one memtable row's cache line each */
    char *sbuf[ARIEL_ROW_NSTR];
    size_t sbufcap[ARIEL_ROW_NSTR], sbufused[ARIEL_ROW_NSTR];
    int8_t plane[ARIEL_ROW_NSTR];
    int nplanes;
    /* The fixed-width columns transposed in one pass over the rows (column-major): column c
     * of row i at fixed + colstart[c] + i * width. One sequential pass instead of one
     * cache-missing pass over all rows per column. */
    uint8_t *fixed;
    size_t fixed_rows;
    size_t colstart[STRM_COL__COUNT];
    /* min and max of each INT/TIME column's values in w->fixed (split_rows takes them while
     * it copies, encode_col uses them) */
    int64_t fmin[STRM_COL__COUNT], fmax[STRM_COL__COUNT];
    uint64_t *tokh; /* token hashes of one block (token index) */
    size_t tokcap;
    uint64_t *tokbm; /* token-byte bitmap of one payload */
    size_t tokbmcap;
    uint32_t *tokpos; /* its tokens' starts and ends (tok_runs) */
    size_t tokposcap;
    /* string dictionary (ARIEL_ENC_STRDICT): open-addressing slots (code + 1, 0 empty),
     * the distinct values, the row codes */
    uint32_t *dslot;
    size_t dslotcap;
    struct strm_str *dvals;
    struct short_key *dkeys; /* of the short values (encode_strdict) */
    uint16_t *dcodes;
    size_t dcodecap;
    bool token_index;       /* write the payload's token index */
    size_t strblock_min;    /* ARIEL_ENC_STRBLOCKS from this many bytes of strings */
    size_t fixblock_min;    /* ARIEL_COLF_BLOCKS from this many bytes of fixed-width values */
    uint32_t strblock_rows; /* rows per block: strings */
    uint32_t fixblock_rows; /* fixed-width values */
    uint32_t tokblock_rows; /* the token index's filters */
    uint64_t colset;        /* columns of the table written (strm_table_cols) */
    /* the payload's dictionary (dict.c): blocks of about dict_block raw bytes compressed
     * with cdict (a ZSTD_CDict; NULL: none yet or none possible); payload_dict false: never */
    bool payload_dict;
    void *cdict;
    /* a flush's helper writer uses the flushing writer's dictionary (borrowed: never trained
     * or freed here), which keeps it meanwhile (frozen: no retraining) */
    bool dict_borrowed, dict_frozen;
    bool dict_attach;               /* cdict is used in place, not copied per block (segment.c) */
    enum ariel_dict_form dict_form; /* how dict_attach is chosen */
    uint32_t dict_id, dict_segments;
    size_t dict_block;
    int64_t dict_retry_ms; /* after a failed training: not before */
    const char *root;      /* the store being written (set per segment) */
    const char *tabname;   /* partition directory under the root: "events" or "flows" */
};

int ariel_seg_writer_init(struct ariel_seg_writer *w, int level, enum strm_table table);
/* "events" or "flows": the partition directory of a table's segments. */
const char *ariel_table_dir(enum strm_table table);
void ariel_seg_writer_free(struct ariel_seg_writer *w);
/* Grows and touches the writer's per-row buffers for segments of n rows (at open). */
int ariel_seg_writer_reserve(struct ariel_seg_writer *w, uint32_t n);

/*
 * Writes the n rows (row-format pointers and lengths, already sorted by starttime) as the segment
 * root/events/YYYY/MM/DD/HH/seg-<id>.seg: .tmp, fsync, rename, fsync dir. *out gets the
 * loaded segment (one reference).
 */
int ariel_seg_write(struct ariel_seg_writer *w, const char *root, const struct ariel_seg_meta *m,
                    const uint8_t *const *rows, const uint32_t *lens, uint32_t n,
                    struct ariel_segment **out);
/* Reads and checks header and column directory of path. */
int ariel_seg_load(const char *path, struct ariel_segment **out, char *err, size_t errlen);
void ariel_seg_ref(struct ariel_segment *g);
void ariel_seg_unref(struct ariel_segment *g); /* accepts NULL */

struct ariel_scan_ctx;
struct ariel_scan_ctx *ariel_scan_ctx_new(void);
/* Adds the rows the scans of c passed over by index filters and by per-block min/max since
 * the last call to *by_index and *by_minmax. */
void ariel_scan_ctx_skips(struct ariel_scan_ctx *c, uint64_t *by_index, uint64_t *by_minmax);
/* Scans with c hand a segment's rows out newest first (reverse) and stop reading a segment
 * once keep (may be NULL) says the time range of its rows left cannot enter the result. */
/* The next scan with c reads rows lo..hi-1 of its segment only (a part of a parallel scan). */
void ariel_scan_ctx_rows(struct ariel_scan_ctx *c, uint64_t lo, uint64_t hi);
/* Scans with c count the rows they would hand out (count_only), returned and reset by
 * ariel_scan_ctx_counted. */
void ariel_scan_ctx_count(struct ariel_scan_ctx *c, bool count_only);
/* Scans with c hand rows out as vectors of cols[0..n) to fn (NULL: as events). */
void ariel_scan_ctx_vec(struct ariel_scan_ctx *c, ariel_vec_fn fn, const int *cols, int n);
/* Scans with c hand out the distinct values of string column col to fn (NULL: rows). */
void ariel_scan_ctx_distinct(struct ariel_scan_ctx *c, ariel_distinct_fn fn, int col);
uint64_t ariel_scan_ctx_counted(struct ariel_scan_ctx *c);
#define ARIEL_PART_ALIGN 16384u
void ariel_scan_ctx_order(struct ariel_scan_ctx *c, bool reverse,
                          bool (*keep)(int64_t min_time, int64_t max_time, void *karg), void *karg);
void ariel_scan_ctx_free(struct ariel_scan_ctx *c);
/*
 * Calls fn for the segment's rows in [tmin, tmax] with the colmask columns; when fn returns
 * nonzero, stores it in *stop and returns 0. Returns 0, STRM_ERR_CORRUPT (logged, segment
 * marked bad), STRM_ERR_IO (logged) or STRM_ERR_NOMEM.
 *
 * preds (may be NULL) are conditions every row must meet (struct ariel_pred): their columns
 * are read first and only the rows meeting all of them are handed on, so the other columns
 * of a segment without such a row are never read or decompressed (late materialization).
 */
int ariel_seg_scan(struct ariel_segment *g, struct ariel_scan_ctx *c, int64_t tmin, int64_t tmax,
                   uint64_t colmask, const struct ariel_pred *preds, int npreds, ariel_row_fn fn,
                   void *arg, int *stop);
/* Makes ariel_seg_scan on c hand rows to fn in batches (NULL: one by one). NOMEM on failure. */
int ariel_scan_ctx_batch(struct ariel_scan_ctx *c, ariel_batch_fn fn);

/* ---------------------------------------------------------------- file helpers (segment.c) */

int ariel_fsync_dir(const char *dir);
/* mkdir -p below root; fsyncs the parent of each directory it creates. */
int ariel_mkdirs(const char *path);
int ariel_write_all(int fd, const void *p, size_t len, uint64_t off);
/* pread of exactly len bytes at off; -1 with errno (EIO when the file is shorter). */
int ariel_read_all(int fd, void *p, size_t len, uint64_t off);

/* Little-endian integers in file bytes (the host order: see row.c). */
static inline void ariel_put16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, 2);
}
static inline void ariel_put32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}
static inline void ariel_put64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, 8);
}
static inline uint16_t ariel_get16(const uint8_t *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}
static inline uint32_t ariel_get32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint64_t ariel_get64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

#endif
