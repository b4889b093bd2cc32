/*
 * dsm_cef.c - the generic CEF DSM (ArcSight Common Event Format) for any product that sends
 * CEF and has no DSM of its own (vendors with their own DSM are tried first).
 *
 * Recognized: "CEF:<version>|" within the first CEF_SCAN bytes of the payload (after a
 * syslog header, or bare) and a complete 7-field header (dsm_cef_header). The syslog
 * parser usually takes "CEF" for the tag, so the payload, not the MSG, is searched.
 *
 * QIDs: a generic DSM cannot know a vendor's signature ids, so the QID is chosen by the
 * header's severity band: Low (0-3), Medium (4-6), High (7-8), Very-High (9-10); the text
 * forms Low/Medium/High/Very-High are accepted too. A severity that is neither gives
 * "CEF Unknown Event". The event's severity is the CEF severity itself (0-10; Low 2,
 * Medium 5, High 7, Very-High 9). Vendor, product, signature id and name become properties
 * (cef.vendor, cef.product, cef.signature, cef.name).
 *
 * Extension keys mapped to columns: src/dst (and c6a2/c6a3 IPv6), spt/dpt, proto, suser
 * (duser when there is no suser), smac/dmac, rt (else start, else end) as device time
 * (epoch ms or "MMM dd yyyy HH:mm:ss[.SSS][ zone]", or ISO 8601), sourceTranslatedAddress/
 * Port and destinationTranslatedAddress/Port as post-NAT (the untranslated src/dst/ports
 * are then also the pre-NAT values). act becomes the property "action". Custom string/
 * number fields csN/cnN/cfpN/flexStringN with a matching ...Label are stored under the
 * label; everything else is a property under its CEF key.
 */
#include "dsm/dsm_priv.h"

#include <string.h>

#define CEF_SCAN 512 /* "CEF:" must start within this many bytes of the payload */

enum {
    CEF_QID_LOW = 1,
    CEF_QID_MEDIUM = 2,
    CEF_QID_HIGH = 3,
    CEF_QID_VERY_HIGH = 4,
};

static const struct qid_def cef_qids[] = {
    {DSM_QID(DSM_T_CEF, CEF_QID_LOW), "CEF Low Severity Event",
     "A CEF event with severity 0-3 (Low) from a product without its own DSM", LLC_UNKNOWN, 2},
    {DSM_QID(DSM_T_CEF, CEF_QID_MEDIUM), "CEF Medium Severity Event",
     "A CEF event with severity 4-6 (Medium) from a product without its own DSM", LLC_UNKNOWN, 5},
    {DSM_QID(DSM_T_CEF, CEF_QID_HIGH), "CEF High Severity Event",
     "A CEF event with severity 7-8 (High) from a product without its own DSM", LLC_UNKNOWN, 7},
    {DSM_QID(DSM_T_CEF, CEF_QID_VERY_HIGH), "CEF Very-High Severity Event",
     "A CEF event with severity 9-10 (Very-High) from a product without its own DSM", LLC_UNKNOWN,
     9},
    {DSM_QID_UNKNOWN(DSM_T_CEF), "CEF Unknown Event",
     "A CEF event whose severity is missing or not understood", LLC_UNKNOWN, 3},
};

/* Labelled custom fields: cs1..cs6, cn1..cn3, cfp1..cfp4, flexString1..2, ... */
#define CEF_MAX_CUSTOM 24
struct cef_custom {
    char key[16]; /* "cs1" */
    const char *v, *label;
    size_t vlen, label_len;
};

struct cef_fill {
    struct strm_event *ev;
    struct strm_arena *arena;
    const struct dsm_ctx *ctx;
    bool have_suser, have_time_rt, have_time, src_nat, dst_nat;
    int n_custom;
    struct cef_custom custom[CEF_MAX_CUSTOM]; /* these two are not cleared per line */
    struct dsm_props props;
};

static bool key_is(const char *k, size_t klen, const char *name)
{
    size_t n = strlen(name);
    return klen == n && memcmp(k, name, n) == 0;
}

static bool cef_time(const char *v, size_t vlen, int tz_min, int64_t *ms)
{
    return dsm_parse_time(DSM_TIME_EPOCH, v, vlen, tz_min, ms) ||
           dsm_parse_time(DSM_TIME_MON_D_Y_HMS, v, vlen, tz_min, ms) ||
           dsm_parse_time(DSM_TIME_ISO8601, v, vlen, tz_min, ms);
}

/* Is k a custom field ("cs3") or its label ("cs3Label")? Returns the slot or NULL. */
static struct cef_custom *cef_custom_slot(struct cef_fill *f, const char *k, size_t klen,
                                          bool *is_label)
{
    static const char *const prefixes[] = {
        "cs", "cn", "cfp", "flexString", "flexNumber", "flexDate", "deviceCustomDate", "c6a"};
    size_t base = klen;
    *is_label = false;
    if (klen > 5 && memcmp(k + klen - 5, "Label", 5) == 0) {
        base = klen - 5;
        *is_label = true;
    }
    size_t pl = 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (base > n && base <= n + 2 && memcmp(k, prefixes[i], n) == 0) {
            pl = n;
            break;
        }
    }
    if (!pl || base >= 16) return NULL;
    for (size_t i = pl; i < base; i++)
        if (k[i] < '0' || k[i] > '9') return NULL;
    for (int i = 0; i < f->n_custom; i++)
        if (strlen(f->custom[i].key) == base && memcmp(f->custom[i].key, k, base) == 0)
            return &f->custom[i];
    if (f->n_custom == CEF_MAX_CUSTOM) return NULL;
    struct cef_custom *c = &f->custom[f->n_custom++];
    memcpy(c->key, k, base);
    c->key[base] = 0;
    c->v = c->label = NULL;
    c->vlen = c->label_len = 0;
    return c;
}

static bool cef_field(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
    struct cef_fill *f = arg;
    struct strm_event *ev = f->ev;
    int64_t ms;
    switch (k[0]) {
    case 's':
        if (key_is(k, klen, "src") || key_is(k, klen, "sourceAddress")) {
            if (dsm_set_ip(&ev->sourceip, v, vlen)) return true;
        } else if (key_is(k, klen, "spt") || key_is(k, klen, "sourcePort")) {
            if (dsm_set_port(&ev->sourceport, v, vlen)) return true;
        } else if (key_is(k, klen, "suser") || key_is(k, klen, "sourceUserName")) {
            if (vlen) {
                dsm_set_str(&ev->username, f->arena, v, vlen);
                f->have_suser = true;
                return true;
            }
        } else if (key_is(k, klen, "smac") || key_is(k, klen, "sourceMacAddress")) {
            if (dsm_set_mac(ev->sourcemac, v, vlen)) return true;
        } else if (key_is(k, klen, "sourceTranslatedAddress")) {
            if (dsm_set_ip(&ev->postnatsourceip, v, vlen)) {
                f->src_nat = true;
                return true;
            }
        } else if (key_is(k, klen, "sourceTranslatedPort")) {
            if (dsm_set_port(&ev->postnatsourceport, v, vlen)) {
                f->src_nat = true;
                return true;
            }
        } else if (key_is(k, klen, "start") && !f->have_time_rt) {
            if (cef_time(v, vlen, f->ctx->tz_min, &ms)) {
                ev->devicetime = ms;
                f->have_time = true;
            }
        }
        break;
    case 'd':
        if (key_is(k, klen, "dst") || key_is(k, klen, "destinationAddress")) {
            if (dsm_set_ip(&ev->destinationip, v, vlen)) return true;
        } else if (key_is(k, klen, "dpt") || key_is(k, klen, "destinationPort")) {
            if (dsm_set_port(&ev->destinationport, v, vlen)) return true;
        } else if (key_is(k, klen, "duser") || key_is(k, klen, "destinationUserName")) {
            if (vlen && !f->have_suser && !ev->username.len)
                dsm_set_str(&ev->username, f->arena, v, vlen);
        } else if (key_is(k, klen, "dmac") || key_is(k, klen, "destinationMacAddress")) {
            if (dsm_set_mac(ev->destinationmac, v, vlen)) return true;
        } else if (key_is(k, klen, "destinationTranslatedAddress")) {
            if (dsm_set_ip(&ev->postnatdestinationip, v, vlen)) {
                f->dst_nat = true;
                return true;
            }
        } else if (key_is(k, klen, "destinationTranslatedPort")) {
            if (dsm_set_port(&ev->postnatdestinationport, v, vlen)) {
                f->dst_nat = true;
                return true;
            }
        }
        break;
    case 'p':
        if (key_is(k, klen, "proto") || key_is(k, klen, "transportProtocol")) {
            uint8_t p = dsm_protocol(v, vlen);
            if (p) {
                ev->protocolid = p;
                return true;
            }
        }
        break;
    case 'r':
        if (key_is(k, klen, "rt") || key_is(k, klen, "receiptTime")) {
            if (cef_time(v, vlen, f->ctx->tz_min, &ms)) {
                ev->devicetime = ms;
                f->have_time = f->have_time_rt = true;
            }
        }
        break;
    case 'e':
        if (key_is(k, klen, "end") && !f->have_time) {
            if (cef_time(v, vlen, f->ctx->tz_min, &ms)) {
                ev->devicetime = ms;
                f->have_time = true;
            }
        }
        break;
    case 'a':
        if (key_is(k, klen, "act") || key_is(k, klen, "deviceAction")) {
            dsm_props_add(&f->props, "action", v, vlen);
            return true;
        }
        break;
    case 'c':
        if (key_is(k, klen, "c6a2") || key_is(k, klen, "c6a3")) {
            struct strm_ip *ip = k[3] == '2' ? &ev->sourceip : &ev->destinationip;
            if (strm_ip_is_null(ip) && dsm_set_ip(ip, v, vlen)) return true;
        }
        break;
    default:
        break;
    }
    bool is_label;
    struct cef_custom *c = cef_custom_slot(f, k, klen, &is_label);
    if (c) {
        if (is_label) {
            c->label = v;
            c->label_len = vlen;
        } else {
            c->v = v;
            c->vlen = vlen;
        }
        return true;
    }
    char key[64];
    size_t n = klen < sizeof key - 1 ? klen : sizeof key - 1;
    memcpy(key, k, n);
    key[n] = 0;
    dsm_props_add(&f->props, key, v, vlen);
    return true;
}

/* Severity 0-10 from the header text; -1 when not understood. */
static int cef_severity(struct strm_str s)
{
    uint64_t v;
    const char *p = s.p;
    size_t n = s.len;
    while (n && *p == ' ') {
        p++;
        n--;
    }
    while (n && p[n - 1] == ' ')
        n--;
    if (dsm_parse_uint(p, n, 10, &v)) return (int)v;
    if (n == 3 && dsm_memcasemem(p, n, "low")) return 2;
    if (n == 6 && dsm_memcasemem(p, n, "medium")) return 5;
    if (n == 4 && dsm_memcasemem(p, n, "high")) return 7;
    if ((n == 9 && (dsm_memcasemem(p, n, "very-high") || dsm_memcasemem(p, n, "very high"))) ||
        (n == 8 && dsm_memcasemem(p, n, "veryhigh")))
        return 9;
    return -1;
}

static bool cef_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *p = ev->payload.p;
    size_t len = ev->payload.len;
    if (!p || len < 12) return false;
    size_t lim = len < CEF_SCAN ? len : CEF_SCAN;
    const char *c = memchr(p, 'C', lim);
    while (c && (size_t)(p + lim - c) >= 4 && memcmp(c, "CEF:", 4) != 0)
        c = memchr(c + 1, 'C', (size_t)(p + lim - c - 1));
    if (!c || (size_t)(p + lim - c) < 4) return false;
    struct dsm_cef h;
    if (!dsm_cef_header(c, len - (size_t)(c - p), &h)) return false;

    struct cef_fill f;
    memset(&f, 0, offsetof(struct cef_fill, custom));
    dsm_props_init(&f.props);
    f.ev = ev;
    f.arena = arena;
    f.ctx = ctx;
    f.n_custom = 0;
    dsm_props_add(&f.props, "cef.vendor", h.vendor.p, h.vendor.len);
    dsm_props_add(&f.props, "cef.product", h.product.p, h.product.len);
    dsm_props_add(&f.props, "cef.signature", h.signature.p, h.signature.len);
    dsm_props_add(&f.props, "cef.name", h.name.p, h.name.len);
    dsm_cef_scan(&h, arena, cef_field, &f);
    for (int i = 0; i < f.n_custom; i++) {
        struct cef_custom *cu = &f.custom[i];
        if (!cu->v) continue;
        char key[64];
        size_t n = 0;
        if (cu->label && cu->label_len) {
            n = cu->label_len < sizeof key - 1 ? cu->label_len : sizeof key - 1;
            memcpy(key, cu->label, n);
        } else {
            n = strlen(cu->key);
            memcpy(key, cu->key, n);
        }
        key[n] = 0;
        dsm_props_add(&f.props, key, cu->v, cu->vlen);
    }
    if (f.src_nat) {
        ev->prenatsourceip = ev->sourceip;
        ev->prenatsourceport = ev->sourceport;
    }
    if (f.dst_nat) {
        ev->prenatdestinationip = ev->destinationip;
        ev->prenatdestinationport = ev->destinationport;
    }
    int sev = cef_severity(h.severity);
    uint32_t qid = sev < 0    ? DSM_QID_UNKNOWN(DSM_T_CEF)
                   : sev <= 3 ? DSM_QID(DSM_T_CEF, CEF_QID_LOW)
                   : sev <= 6 ? DSM_QID(DSM_T_CEF, CEF_QID_MEDIUM)
                   : sev <= 8 ? DSM_QID(DSM_T_CEF, CEF_QID_HIGH)
                              : DSM_QID(DSM_T_CEF, CEF_QID_VERY_HIGH);
    dsm_set_qid(ev, qid);
    if (sev >= 0) ev->severity = (uint8_t)sev;
    dsm_props_commit(&f.props, ev, arena);
    ev->devicetype = DSM_T_CEF;
    return true;
}

const struct dsm_def dsm_cef = {
    .name = "cef",
    .display = "Universal CEF",
    .type_id = DSM_T_CEF,
    .qids = cef_qids,
    .n_qids = sizeof cef_qids / sizeof cef_qids[0],
    .init = NULL,
    .parse = cef_parse,
};
