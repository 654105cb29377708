/* Magnification schedules (see schedule.h). */
#include "core/magnify/factors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int schedule_factors(double **factors, int *T, const schedule_spec *s, mer_err *err) {
    int n = s->form == SCHEDULE_LIST ? s->n_list : s->count;
    if (n < 1 || n > SCHEDULE_MAX_COUNT)
        return mer_errf(err, "magnification schedule: %d factors (must be 1..%d)", n, SCHEDULE_MAX_COUNT);
    if (s->form != SCHEDULE_LIST && (!isfinite(s->start) || (s->form == SCHEDULE_STEP && !isfinite(s->step)) ||
                                     (s->form == SCHEDULE_END && !isfinite(s->end))))
        return mer_errf(err, "magnification schedule: start/step/end must be finite numbers");
    double *f = mer_malloc((size_t)n * sizeof *f, err);
    if (!f) return -1;
    for (int i = 0; i < n; i++) {
        double a;
        switch (s->form) {
        case SCHEDULE_LIST: a = s->list[i]; break;
        /* same expression as config_mag_alpha (io/config/config.h), so both give bit-identical factors */
        case SCHEDULE_END: a = n == 1 ? s->start : s->start + (s->end - s->start) * i / (n - 1); break;
        default: a = s->start + i * s->step; break;
        }
        if (s->form == SCHEDULE_END && i == n - 1 && n > 1) a = s->end; /* exact last value */
        if (!isfinite(a)) {
            free(f);
            return mer_errf(err, "magnification schedule: factor %d is not a finite number", i + 1);
        }
        f[i] = s->one_plus_alpha ? 1.0 + a : a;
    }
    *factors = f;
    *T = n;
    return 0;
}

static int parse_num(double *v, const char *s, const char *end, const char *text, mer_err *err) {
    char buf[64];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf) return mer_errf(err, "schedule '%s': empty or overlong number", text);
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    *v = strtod(buf, &e);
    if (*e || errno || !isfinite(*v)) return mer_errf(err, "schedule '%s': '%s' is not a number", text, buf);
    return 0;
}

void schedule_spec_free(schedule_spec *s) {
    if (!s) return;
    free(s->list);
    s->list = NULL;
    s->n_list = 0;
}

int schedule_parse(schedule_spec *s, const char *text, mer_err *err) {
    int opa = s->one_plus_alpha;
    memset(s, 0, sizeof *s);
    s->one_plus_alpha = opa;
    const char *p;
    if (!strncmp(text, "list:", 5)) {
        p = text + 5;
        int n = 1;
        for (const char *q = p; *q; q++) n += *q == ',';
        s->form = SCHEDULE_LIST;
        if (!(s->list = mer_malloc((size_t)n * sizeof *s->list, err))) return -1;
        for (int i = 0; i < n; i++) {
            const char *e = strchr(p, ',');
            if (!e) e = p + strlen(p);
            if (parse_num(&s->list[i], p, e, text, err) < 0) {
                schedule_spec_free(s);
                return -1;
            }
            p = *e ? e + 1 : e;
        }
        s->n_list = n;
        return 0;
    }
    int is_step = !strncmp(text, "step:", 5), is_end = !strncmp(text, "end:", 4);
    if (!is_step && !is_end)
        return mer_errf(err, "schedule '%s': expected step:START:STEP:COUNT, end:START:END:COUNT or list:A,B,...",
                        text);
    p = text + (is_step ? 5 : 4);
    double v[3];
    for (int i = 0; i < 3; i++) {
        const char *e = i < 2 ? strchr(p, ':') : p + strlen(p);
        if (!e) return mer_errf(err, "schedule '%s': expected three ':'-separated numbers", text);
        if (parse_num(&v[i], p, e, text, err) < 0) return -1;
        p = e + (i < 2);
    }
    if (v[2] != floor(v[2]) || v[2] < 1 || v[2] > SCHEDULE_MAX_COUNT)
        return mer_errf(err, "schedule '%s': COUNT must be an integer in 1..%d", text, SCHEDULE_MAX_COUNT);
    s->form = is_step ? SCHEDULE_STEP : SCHEDULE_END;
    s->start = v[0];
    if (is_step) s->step = v[1];
    else s->end = v[1];
    s->count = (int)v[2];
    return 0;
}

int schedule_parse_factor_kind(int *one_plus_alpha, const char *text, mer_err *err) {
    if (text && !strcmp(text, "alpha")) *one_plus_alpha = 0;
    else if (text && !strcmp(text, "one_plus_alpha")) *one_plus_alpha = 1;
    else return mer_errf(err, "magnify.factor '%s': expected alpha or one_plus_alpha", text ? text : "(unset)");
    return 0;
}
