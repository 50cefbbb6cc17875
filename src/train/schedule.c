/* Learning-rate schedules: exponential, power, piecewise constant, performance (plateau),
 * cosine and linear decay, each after an optional linear warm-up. t counts optimizer steps
 * from 0. */
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/train.h"

static ot_status bad(const char *text, const char *expected) {
    return oti_fail(OT_ERR_INVALID, "'%s' is not a schedule: expected %s", text, expected);
}

ot_status ot_schedule_parse(const char *text, ot_schedule *s) {
    memset(s, 0, sizeof *s);
    s->scale = 1.0;
    s->best = INFINITY;
    const char *colon = strchr(text, ':');
    size_t name_len = colon ? (size_t)(colon - text) : strlen(text);
    const char *args = colon ? colon + 1 : "";
    if (!strncmp(text, "constant", name_len) && name_len == 8) {
        s->kind = OT_SCHEDULE_CONSTANT;
        return OT_OK;
    }
    if (!strncmp(text, "linear", name_len) && name_len == 6) {
        s->kind = OT_SCHEDULE_LINEAR;
        if (!oti_parse_double(args, &s->r) || s->r <= 0) return bad(text, "linear:T with T > 0 steps");
        return OT_OK;
    }
    if ((!strncmp(text, "exponential", name_len) && name_len == 11) ||
        (!strncmp(text, "cosine", name_len) && name_len == 6)) {
        s->kind = name_len == 6 ? OT_SCHEDULE_COSINE : OT_SCHEDULE_EXPONENTIAL;
        if (!oti_parse_double(args, &s->r) || s->r <= 0)
            return bad(text, name_len == 6 ? "cosine:T with T > 0 steps" : "exponential:r with r > 0 steps");
        return OT_OK;
    }
    if (!strncmp(text, "power", name_len) && name_len == 5) {
        s->kind = OT_SCHEDULE_POWER;
        s->c = 1.0;
        char *copy = oti_strdup(args);
        OT_ALLOC_CHECK(copy);
        char *comma = strchr(copy, ',');
        if (comma) *comma = '\0';
        int ok = oti_parse_double(copy, &s->r) && s->r > 0 && (!comma || (oti_parse_double(comma + 1, &s->c) && s->c > 0));
        free(copy);
        return ok ? OT_OK : bad(text, "power:r[,c] with r > 0 steps and c > 0");
    }
    if (!strncmp(text, "plateau", name_len) && name_len == 7) {
        s->kind = OT_SCHEDULE_PLATEAU;
        s->factor = 0.1;
        char *copy = oti_strdup(args);
        OT_ALLOC_CHECK(copy);
        char *comma = strchr(copy, ',');
        if (comma) *comma = '\0';
        int64_t patience;
        int ok = oti_parse_int64(copy, &patience) && patience >= 1 && patience < 1000000 &&
                 (!comma || (oti_parse_double(comma + 1, &s->factor) && s->factor > 0 && s->factor < 1));
        s->patience = (int)patience;
        free(copy);
        return ok ? OT_OK : bad(text, "plateau:patience[,factor] with patience >= 1 and 0 < factor < 1");
    }
    if (!strncmp(text, "piecewise", name_len) && name_len == 9) {
        s->kind = OT_SCHEDULE_PIECEWISE;
        char *copy = oti_strdup(args), *save = NULL;
        OT_ALLOC_CHECK(copy);
        ot_status status = OT_OK;
        for (char *item = strtok_r(copy, ",", &save); item && status == OT_OK; item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (eq) *eq = '\0';
            int k = s->n_pieces;
            if (!eq || k >= OT_SCHEDULE_MAX_PIECES || !oti_parse_int64(item, &s->piece_step[k]) ||
                !oti_parse_double(eq + 1, &s->piece_lr[k]) || s->piece_step[k] < 0 || s->piece_lr[k] < 0 ||
                (k > 0 && s->piece_step[k] <= s->piece_step[k - 1]))
                status = bad(text, "piecewise:STEP=LR,STEP=LR,... with increasing steps (at most 32)");
            s->n_pieces++;
        }
        free(copy);
        if (status == OT_OK && s->n_pieces == 0) status = bad(text, "piecewise:STEP=LR,...");
        return status;
    }
    return bad(text, "exponential:r, power:r[,c], piecewise:s1=lr1,..., plateau:patience[,factor], cosine:T "
               "or linear:T");
}

double ot_schedule_lr(const ot_schedule *s, double lr0, int64_t t) {
    /* Warm-up: lr0 (t + 1) / W for the first W steps (PyTorch's LinearLR from 1/W); the
     * schedule's own clock starts after it, as in transformers' get_*_schedule_with_warmup. */
    if (s->warmup > 0) {
        if (t < s->warmup) return lr0 * (double)(t + 1) / (double)s->warmup;
        t -= s->warmup;
    }
    switch (s->kind) {
    case OT_SCHEDULE_LINEAR: return lr0 * fmax(0.0, 1.0 - (double)t / s->r);
    case OT_SCHEDULE_CONSTANT: return lr0;
    case OT_SCHEDULE_EXPONENTIAL: return lr0 * pow(10.0, -(double)t / s->r);
    case OT_SCHEDULE_POWER: return lr0 * pow(1.0 + (double)t / s->r, -s->c);
    case OT_SCHEDULE_PIECEWISE: {
        double lr = lr0;
        for (int k = 0; k < s->n_pieces; k++)
            if (t >= s->piece_step[k]) lr = s->piece_lr[k];
        return lr;
    }
    case OT_SCHEDULE_PLATEAU: return lr0 * s->scale;
    case OT_SCHEDULE_COSINE: {
        double progress = fmin((double)t, s->r) / s->r;
        return lr0 * 0.5 * (1.0 + cos(M_PI * progress));
    }
    }
    return lr0;
}

int ot_schedule_observe(ot_schedule *s, double val_loss) {
    if (s->kind != OT_SCHEDULE_PLATEAU || isnan(val_loss)) return 0;
    if (val_loss < s->best) {
        s->best = val_loss;
        s->wait = 0;
        return 0;
    }
    if (++s->wait < s->patience) return 0;
    s->wait = 0;
    s->scale *= s->factor;
    return 1;
}
