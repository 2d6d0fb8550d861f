/* test_status.c - status strings: one distinct string per code, a fallback for others. */
#include <criterion/criterion.h>
#include <string.h>

#include "convkit/convkit.h"

Test(status, every_code_has_a_distinct_string)
{
    for (int i = 0; i < CK_STATUS_COUNT; i++) {
        cr_assert_not_null(ck_status_str((enum ck_status)i));
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(ck_status_str((enum ck_status)i), ck_status_str((enum ck_status)j));
    }
    cr_assert_str_eq(ck_status_str((enum ck_status)999), "unknown status");
}
