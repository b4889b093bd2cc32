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

#define COL(name, type, field)                                                                     \
    {                                                                                              \
        name, type, (uint8_t)sizeof(((struct strm_event *)0)->field),                              \
            offsetof(struct strm_event, field)                                                     \
    }

const struct strm_col_def strm_event_cols[STRM_COL__COUNT] = {
    [STRM_COL_STARTTIME] = COL("starttime", STRM_T_TIME, starttime),
    [STRM_COL_DEVICETIME] = COL("devicetime", STRM_T_TIME, devicetime),
    [STRM_COL_STORAGETIME] = COL("storagetime", STRM_T_TIME, storagetime),
    [STRM_COL_LOGSOURCEID] = COL("logsourceid", STRM_T_INT, logsourceid),
    [STRM_COL_QID] = COL("qid", STRM_T_INT, qid),
    [STRM_COL_EVENTCOUNT] = COL("eventcount", STRM_T_INT, eventcount),
    [STRM_COL_CATEGORY] = COL("category", STRM_T_INT, category),
    [STRM_COL_HIGHLEVELCATEGORY] = COL("highlevelcategory", STRM_T_INT, highlevelcategory),
    [STRM_COL_SOURCEPORT] = COL("sourceport", STRM_T_INT, sourceport),
    [STRM_COL_DESTINATIONPORT] = COL("destinationport", STRM_T_INT, destinationport),
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
    [STRM_COL_PROTOCOLID] = COL("protocolid", STRM_T_INT, protocolid),
    [STRM_COL_FACILITY] = COL("facility", STRM_T_INT, facility),
    [STRM_COL_PRIORITY] = COL("priority", STRM_T_INT, priority),
    [STRM_COL_FLAGS] = COL("flags", STRM_T_INT, flags),
    [STRM_COL_SOURCEIP] = COL("sourceip", STRM_T_IP, sourceip),
    [STRM_COL_DESTINATIONIP] = COL("destinationip", STRM_T_IP, destinationip),
    [STRM_COL_PRENATSOURCEIP] = COL("prenatsourceip", STRM_T_IP, prenatsourceip),
    [STRM_COL_POSTNATSOURCEIP] = COL("postnatsourceip", STRM_T_IP, postnatsourceip),
    [STRM_COL_PRENATDESTINATIONIP] = COL("prenatdestinationip", STRM_T_IP, prenatdestinationip),
    [STRM_COL_POSTNATDESTINATIONIP] = COL("postnatdestinationip", STRM_T_IP, postnatdestinationip),
    [STRM_COL_SOURCEMAC] = COL("sourcemac", STRM_T_MAC, sourcemac),
    [STRM_COL_DESTINATIONMAC] = COL("destinationmac", STRM_T_MAC, destinationmac),
    [STRM_COL_USERNAME] = COL("username", STRM_T_STR, username),
    [STRM_COL_HOSTNAME] = COL("hostname", STRM_T_STR, hostname),
    [STRM_COL_APPNAME] = COL("appname", STRM_T_STR, appname),
    [STRM_COL_PROCID] = COL("procid", STRM_T_STR, procid),
    [STRM_COL_MSGID] = COL("msgid", STRM_T_STR, msgid),
    [STRM_COL_MESSAGE] = COL("message", STRM_T_STR, message),
    [STRM_COL_PROPERTIES] = COL("properties", STRM_T_STR, properties),
    [STRM_COL_PAYLOAD] = COL("payload", STRM_T_STR, payload),
};

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
    memset(ev, 0, sizeof(*ev));
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
