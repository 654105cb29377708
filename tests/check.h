/* Minimal test harness shared by the C tests in tests/unit/.
 *
 *   CHECK(cond, "what")           records a pass or a failure (with file:line) and goes on
 *   CHECK_NEAR(a, b, tol, "what")  |a-b| <= tol
 *   CHECK_STR(a, b, "what")        strcmp(a, b) == 0, prints both on failure
 *   SKIP_ALL("why")                prints the reason and exits 77 (ctest reports the test as skipped)
 *   return check_summary();        prints "N passed, N failed" and returns the exit code
 */
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed_, check_failed_;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (cond) {                                                               \
            check_passed_++;                                                      \
        } else {                                                                  \
            check_failed_++;                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
        }                                                                         \
    } while (0)

#define CHECK_NEAR(a, b, tol, ...)                                                \
    do {                                                                          \
        double a_ = (a), b_ = (b);                                                \
        CHECK(fabs(a_ - b_) <= (tol), __VA_ARGS__);                               \
        if (!(fabs(a_ - b_) <= (tol))) fprintf(stderr, "     got %.9g, want %.9g (tol %g)\n", a_, b_, (double)(tol)); \
    } while (0)

#define CHECK_STR(a, b, ...)                                                      \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        int ok_ = a_ && b_ && strcmp(a_, b_) == 0;                                \
        CHECK(ok_, __VA_ARGS__);                                                  \
        if (!ok_) fprintf(stderr, "     got:  %s\n     want: %s\n", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define SKIP_ALL(...)                                                             \
    do {                                                                          \
        printf("SKIP: ");                                                         \
        printf(__VA_ARGS__);                                                      \
        printf("\n");                                                             \
        exit(77);                                                                 \
    } while (0)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}
