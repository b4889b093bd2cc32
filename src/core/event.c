/*
 * event.c - the column schema of the normalized event and typed access by column id.
 *
 * strm_event_cols[] is the single list of event columns: the store writes them in this
 * order and AQL resolves names through it. Adding a column is one field in struct
 * strm_event, one enum value and one row here.
 */
#include "core/core.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define COLT(name, type, field, tbl)                                                               \
    {                                                                                              \
        name, type, (uint8_t)sizeof(((struct strm_event *)0)->field),                              \
            offsetof(struct strm_event, field), tbl, NULL, 0                                       \
    }
#define COL(name, type, field) COLT(name, type, field, STRM_TABLE_EVENTS)
/* columns both tables have */
#define COLB(name, type, field) COLT(name, type, field, STRM_TABLE_EVENTS | STRM_TABLE_FLOWS)
#define FCOL(name, type, field) COLT(name, type, flow.field, STRM_TABLE_FLOWS)
#define FENUM(name, field, names, n)                                                               \
    {                                                                                              \
        name, STRM_T_INT, (uint8_t)sizeof(((struct strm_event *)0)->flow.field),                   \
            offsetof(struct strm_event, flow.field), STRM_TABLE_FLOWS, names, n                    \
    }

const char *const strm_flowtype_names[STRM_FLOWTYPE__COUNT] = {
    [STRM_FLOWTYPE_NONE] = "none",           [STRM_FLOWTYPE_NETFLOW5] = "NetFlow v5",
    [STRM_FLOWTYPE_NETFLOW9] = "NetFlow v9", [STRM_FLOWTYPE_IPFIX] = "IPFIX",
    [STRM_FLOWTYPE_SFLOW] = "sFlow",         [STRM_FLOWTYPE_PACKET] = "Packet",
};
const char *const strm_flowdir_names[STRM_FLOWDIR__COUNT] = {
    [STRM_FLOWDIR_UNKNOWN] = "unknown", [STRM_FLOWDIR_L2L] = "L2L", [STRM_FLOWDIR_L2R] = "L2R",
    [STRM_FLOWDIR_R2L] = "R2L",         [STRM_FLOWDIR_R2R] = "R2R",
};

const struct strm_col_def strm_event_cols[STRM_COL__COUNT] = {
    [STRM_COL_STARTTIME] = COLB("starttime", STRM_T_TIME, starttime),
    [STRM_COL_DEVICETIME] = COL("devicetime", STRM_T_TIME, devicetime),
    [STRM_COL_STORAGETIME] = COLB("storagetime", STRM_T_TIME, storagetime),
    [STRM_COL_LOGSOURCEID] = COL("logsourceid", STRM_T_INT, logsourceid),
    [STRM_COL_QID] = COL("qid", STRM_T_INT, qid),
    [STRM_COL_EVENTCOUNT] = COL("eventcount", STRM_T_INT, eventcount),
    [STRM_COL_CATEGORY] = COL("category", STRM_T_INT, category),
    [STRM_COL_HIGHLEVELCATEGORY] = COL("highlevelcategory", STRM_T_INT, highlevelcategory),
    [STRM_COL_SOURCEPORT] = COLB("sourceport", STRM_T_INT, sourceport),
    [STRM_COL_DESTINATIONPORT] = COLB("destinationport", STRM_T_INT, destinationport),
    [STRM_COL_DEVICETYPE] = COL("devicetype", STRM_T_INT, devicetype),
    [STRM_COL_PRENATSOURCEPORT] = COL("prenatsourceport", STRM_T_INT, prenatsourceport),
    [STRM_COL_POSTNATSOURCEPORT] = COL("postnatsourceport", STRM_T_INT, postnatsourceport),
    [STRM_COL_PRENATDESTINATIONPORT] =
        COL("prenatdestinationport", STRM_T_INT, prenatdestinationport),
    [STRM_COL_POSTNATDESTINATIONPORT] =
        COL("postnatdestinationport", STRM_T_INT, postnatdestinationport),
    [STRM_COL_SEVERITY] = COL("severity", STRM_T_INT, severity),
    [STRM_COL_CREDIBILITY] = COL("credibility", STRM_T_INT, credibility),
    [STRM_COL_RELEVANCE] = COL("relevance", STRM_T_INT, relevance),
    [STRM_COL_MAGNITUDE] = COL("magnitude", STRM_T_INT, magnitude),
    [STRM_COL_PROTOCOLID] = COLB("protocolid", STRM_T_INT, protocolid),
    [STRM_COL_FACILITY] = COL("facility", STRM_T_INT, facility),
    [STRM_COL_PRIORITY] = COL("priority", STRM_T_INT, priority),
    [STRM_COL_FLAGS] = COLB("flags", STRM_T_INT, flags),
    [STRM_COL_SOURCEIP] = COLB("sourceip", STRM_T_IP, sourceip),
    [STRM_COL_DESTINATIONIP] = COLB("destinationip", STRM_T_IP, destinationip),
    [STRM_COL_PRENATSOURCEIP] = COL("prenatsourceip", STRM_T_IP, prenatsourceip),
    [STRM_COL_POSTNATSOURCEIP] = COL("postnatsourceip", STRM_T_IP, postnatsourceip),
    [STRM_COL_PRENATDESTINATIONIP] = COL("prenatdestinationip", STRM_T_IP, prenatdestinationip),
    [STRM_COL_POSTNATDESTINATIONIP] = COL("postnatdestinationip", STRM_T_IP, postnatdestinationip),
    [STRM_COL_SOURCEMAC] = COLB("sourcemac", STRM_T_MAC, sourcemac),
    [STRM_COL_DESTINATIONMAC] = COLB("destinationmac", STRM_T_MAC, destinationmac),
    [STRM_COL_USERNAME] = COL("username", STRM_T_STR, username),
    [STRM_COL_HOSTNAME] = COL("hostname", STRM_T_STR, hostname),
    [STRM_COL_APPNAME] = COL("appname", STRM_T_STR, appname),
    [STRM_COL_PROCID] = COL("procid", STRM_T_STR, procid),
    [STRM_COL_MSGID] = COL("msgid", STRM_T_STR, msgid),
    [STRM_COL_MESSAGE] = COL("message", STRM_T_STR, message),
    [STRM_COL_PROPERTIES] = COL("properties", STRM_T_STR, properties),
    [STRM_COL_PAYLOAD] = COL("payload", STRM_T_STR, payload),
    [STRM_COL_FIRSTPACKETTIME] = FCOL("firstpackettime", STRM_T_TIME, firstpackettime),
    [STRM_COL_LASTPACKETTIME] = FCOL("lastpackettime", STRM_T_TIME, lastpackettime),
    [STRM_COL_SOURCEBYTES] = FCOL("sourcebytes", STRM_T_INT, sourcebytes),
    [STRM_COL_DESTINATIONBYTES] = FCOL("destinationbytes", STRM_T_INT, destinationbytes),
    [STRM_COL_SOURCEPACKETS] = FCOL("sourcepackets", STRM_T_INT, sourcepackets),
    [STRM_COL_DESTINATIONPACKETS] = FCOL("destinationpackets", STRM_T_INT, destinationpackets),
    [STRM_COL_APPLICATIONID] = FCOL("applicationid", STRM_T_INT, applicationid),
    [STRM_COL_FLOWINTERFACE] = FCOL("flowinterface", STRM_T_INT, flowinterface),
    [STRM_COL_VLAN] = FCOL("vlan", STRM_T_INT, vlan),
    [STRM_COL_SOURCEFLAGS] = FCOL("sourceflags", STRM_T_INT, sourceflags),
    [STRM_COL_DESTINATIONFLAGS] = FCOL("destinationflags", STRM_T_INT, destinationflags),
    [STRM_COL_FLOWTYPE] = FENUM("flowtype", flowtype, strm_flowtype_names, STRM_FLOWTYPE__COUNT),
    [STRM_COL_FLOWDIRECTION] =
        FENUM("flowdirection", flowdirection, strm_flowdir_names, STRM_FLOWDIR__COUNT),
    [STRM_COL_ICMPTYPE] = FCOL("icmptype", STRM_T_INT, icmptype),
    [STRM_COL_ICMPCODE] = FCOL("icmpcode", STRM_T_INT, icmpcode),
    [STRM_COL_SOURCEDSCP] = FCOL("sourcedscp", STRM_T_INT, sourcedscp),
    [STRM_COL_FLOWSOURCE] = FCOL("flowsource", STRM_T_IP, flowsource),
    [STRM_COL_APPLICATIONDETAIL] = FCOL("applicationdetail", STRM_T_STR, applicationdetail),
};

uint64_t strm_table_cols(enum strm_table t)
{
    uint64_t m = 0;
    for (int i = 0; i < STRM_COL__COUNT; i++)
        if (strm_event_cols[i].tables & t) m |= 1ull << i;
    return m;
}

int strm_col_lookup(const char *name, size_t len)
{
    for (int i = 0; i < STRM_COL__COUNT; i++) {
        const char *c = strm_event_cols[i].name;
        if (strlen(c) == len && strncasecmp(c, name, len) == 0) return i;
    }
    return -1;
}

int64_t strm_event_get_int(const struct strm_event *ev, int col)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    const char *p = (const char *)ev + d->offset;
    switch (d->width) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return *(const uint16_t *)(const void *)p;
    case 4:
        return *(const uint32_t *)(const void *)p;
    case 8:
        return *(const int64_t *)(const void *)p;
    default:
        return 0;
    }
}

void strm_event_set_int(struct strm_event *ev, int col, int64_t v)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    char *p = (char *)ev + d->offset;
    switch (d->width) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2:
        *(uint16_t *)(void *)p = (uint16_t)v;
        break;
    case 4:
        *(uint32_t *)(void *)p = (uint32_t)v;
        break;
    case 8:
        *(int64_t *)(void *)p = v;
        break;
    default:
        break;
    }
}

struct strm_str strm_event_get_str(const struct strm_event *ev, int col)
{
    const struct strm_col_def *d = &strm_event_cols[col];
    return *(const struct strm_str *)(const void *)((const char *)ev + d->offset);
}

const struct strm_ip *strm_event_get_ip(const struct strm_event *ev, int col)
{
    return (const struct strm_ip *)(const void *)((const char *)ev + strm_event_cols[col].offset);
}

const uint8_t *strm_event_get_mac(const struct strm_event *ev, int col)
{
    return (const uint8_t *)ev + strm_event_cols[col].offset;
}

void strm_event_init(struct strm_event *ev)
{
    /*
     * The C library's memset (vector stores), called through a pointer the compiler cannot
     * see through: for this known size it inlined `rep stos`, whose start-up cost was a fifth
     * of a flow receiver's time (one event per flow record).
     */
    static void *(*volatile const zero)(void *, int, size_t) = memset;
    zero(ev, 0, sizeof(*ev));
    ev->facility = 255;
    ev->priority = 255;
    ev->eventcount = 1;
}

const char *strm_err_str(int err)
{
    switch (err) {
    case STRM_OK:
        return "ok";
    case STRM_ERR_NOMEM:
        return "out of memory";
    case STRM_ERR_IO:
        return "I/O error";
    case STRM_ERR_PARSE:
        return "parse error";
    case STRM_ERR_CORRUPT:
        return "corrupt data";
    case STRM_ERR_INVAL:
        return "invalid argument";
    case STRM_ERR_BUSY:
        return "busy";
    case STRM_ERR_CLOSED:
        return "closed";
    case STRM_ERR_FULL:
        return "full";
    default:
        return "unknown error";
    }
}
