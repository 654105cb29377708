/* runner/cli/options.h: the checked number parsers and the KEY=VALUE override check every command uses. */
#include <limits.h>
#include <math.h>

#include "runner/cli/options.h"
#include "tests/check.h"

int main(void) {
    long l = 7;
    CHECK(cli_long("42", 1, 100, &l) == 0 && l == 42, "plain integer");
    CHECK(cli_long("-5", -10, 10, &l) == 0 && l == -5, "negative in range");
    l = 7;
    CHECK(cli_long("", 0, 10, &l) < 0 && l == 7, "empty rejected, out untouched");
    CHECK(cli_long("12x", 0, 100, &l) < 0 && cli_long("1.5", 0, 100, &l) < 0, "trailing characters rejected");
    CHECK(cli_long("0", 1, 10, &l) < 0 && cli_long("11", 1, 10, &l) < 0, "range is inclusive and checked");
    CHECK(cli_long("1", 1, 10, &l) == 0 && cli_long("10", 1, 10, &l) == 0, "bounds accepted");
    CHECK(cli_long("99999999999999999999999", 0, LONG_MAX, &l) < 0, "overflow rejected");

    uint64_t u = 3;
    CHECK(cli_u64("18446744073709551615", &u) == 0 && u == UINT64_MAX, "largest u64");
    CHECK(cli_u64("-1", &u) < 0 && cli_u64("", &u) < 0 && cli_u64("1a", &u) < 0, "sign, empty, trailing rejected");

    double d = 9;
    CHECK(cli_double("0.25", 0, 1, &d) == 0 && d == 0.25, "plain number");
    CHECK(cli_double("1e-3", 0, 1, &d) == 0 && d == 1e-3, "exponent syntax");
    d = 9;
    CHECK(cli_double("nan", -INFINITY, INFINITY, &d) < 0 && d == 9, "NaN rejected");
    CHECK(cli_double("", 0, 1, &d) < 0 && cli_double("0.5s", 0, 1, &d) < 0, "empty and trailing rejected");
    CHECK(cli_double("1", nextafter(1.0, 2.0), 100, &d) < 0, "open lower bound via nextafter");
    CHECK(cli_double("1e999", 0, INFINITY, &d) < 0, "overflow rejected");

    char a0[] = "run", a1[] = "cfg.yaml", a2[] = "train.lr=3e-4", a3[] = "seed=1", a4[] = "other.yaml";
    char *argv[] = {a0, a1, a2, a3, a4};
    char *const *ov = NULL;
    size_t n = 99;
    CHECK(cli_overrides(&ov, &n, "run", 4, argv, 2, "key=value", "") == 0 && n == 2 && ov == argv + 2, "two overrides");
    CHECK(cli_overrides(&ov, &n, "run", 2, argv, 2, "key=value", "") == 0 && n == 0, "no overrides");
    fprintf(stderr, "(the next line is the expected usage error)\n");
    CHECK(cli_overrides(&ov, &n, "config", 5, argv, 2, "KEY=VALUE", " (only one config file is read)") == 2,
          "a second file name is a usage error");
    return check_summary();
}
