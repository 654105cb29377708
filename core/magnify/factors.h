/* Magnification schedules: the T factors m_1..m_T of the enhanced sequence (README, "Motion magnification").
 *
 * The patent writes frame i as f(I_onset + (1 + alpha_i) |I_apex - I_onset|) with alpha_i increasing; its worked
 * example is alpha = 1, 1.375, 1.75, ... for 32 frames. A schedule gives the alphas in one of three forms and
 * says whether the magnification factor is alpha itself or 1 + alpha:
 *   step:  alpha_i = start + i * step,                       i = 0..count-1
 *   end:   alpha_i = start + i * (end - start) / (count - 1)  (count = 1: start)
 *   list:  alpha_i given explicitly
 * The resolved factor list is what gets recorded with results.
 */
#pragma once
#include <stddef.h>

#include "io/base/err.h"

typedef enum { SCHEDULE_STEP, SCHEDULE_END, SCHEDULE_LIST } schedule_form;

typedef struct {
    schedule_form form;
    double start, step, end;
    int count;
    double *list;   /* SCHEDULE_LIST: owned by the spec (schedule_spec_free) */
    int n_list;
    int one_plus_alpha; /* factor m_i = 1 + alpha_i instead of alpha_i */
} schedule_spec;

#define SCHEDULE_MAX_COUNT 100000

/* factors: malloc'ed array of *T factors (free()). Rejects count < 1, non-finite values. */
int schedule_factors(double **factors, int *T, const schedule_spec *s, mer_err *err);

/* Parse the command-line form: "step:START:STEP:COUNT", "end:START:END:COUNT" or "list:A,B,C,...".
 * one_plus_alpha is left unchanged (set it from --factor). */
int schedule_parse(schedule_spec *s, const char *text, mer_err *err);
void schedule_spec_free(schedule_spec *s);

/* "alpha" -> 0, "one_plus_alpha" -> 1 (the config's magnify.factor values). */
int schedule_parse_factor_kind(int *one_plus_alpha, const char *text, mer_err *err);

