/* test_strings.c - the window's string table (src/viz/strings.def): both columns take the same printf
 * conversions in the same order, every string has its Chinese, and lookups fall back to English. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "viz/strings.h"

/* Writes the printf conversions of s ("%d%s%.2f") into out; returns how many. */
static int conversions(const char *s, char *out, size_t size) {
    size_t n = 0;
    int k = 0;
    for (const char *p = s; *p; p++) {
        if (*p != '%') continue;
        if (p[1] == '%') { p++; continue; }
        const char *q = p + 1;
        while (*q && strchr("-+ #0123456789.*l", *q)) q++;
        if (!*q) break;
        size_t len = (size_t)(q - p + 1);
        if (n + len + 1 < size) { memcpy(out + n, p, len); n += len; }
        p = q;
        k++;
    }
    out[n] = 0;
    return k;
}

/* Both columns of every string take the same conversions, in the same order. */
static void test_same_conversions(void **state) {
    (void)state;
    for (int id = 0; id < VZ_S_COUNT; id++) {
        char a[128], b[128];
        conversions(vz_tr(VZ_LANG_EN, (vz_str)id), a, sizeof a);
        if (!vz_tr_has(VZ_LANG_ZH, (vz_str)id)) continue;
        conversions(vz_tr(VZ_LANG_ZH, (vz_str)id), b, sizeof b);
        if (strcmp(a, b)) fail_msg("%s: English takes '%s', Chinese '%s'", vz_str_name((vz_str)id), a, b);
    }
    char c[64];
    assert_int_equal(conversions("a %d b %.2f %s %%", c, sizeof c), 3); /* the counter itself counts */
    assert_string_equal(c, "%d%.2f%s");
}

/* Every string but the empty one has its own Chinese text, and it is not the English left untranslated
 * (except where the two are the same on purpose: formulas, names, "softmax"). Key caps (VZ_S_CAP_*) are
 * the labels printed on the keys: a cap without Chinese text (PageDown, Esc, →) shows the key's own label. */
static void test_all_translated(void **state) {
    (void)state;
    static const char *const same_ok[] = {"softmax", "logits", "ln_f", "viridis", "stepformer",
                                          "L%d"}; /* (a layer as the trace and the lessons name it: dec.L0) */
    for (int id = 1; id < VZ_S_COUNT; id++) {
        const char *en = vz_tr(VZ_LANG_EN, (vz_str)id), *zh = vz_tr(VZ_LANG_ZH, (vz_str)id);
        if (!strncmp(vz_str_name((vz_str)id), "VZ_S_CAP_", 9) && !vz_tr_has(VZ_LANG_ZH, (vz_str)id)) continue;
        if (!vz_tr_has(VZ_LANG_ZH, (vz_str)id)) fail_msg("%s has no Chinese", vz_str_name((vz_str)id));
        if (!strcmp(en, zh)) {
            int ok = 0;
            for (size_t k = 0; k < sizeof same_ok / sizeof *same_ok; k++) ok |= strstr(en, same_ok[k]) != NULL;
            if (!ok) fail_msg("%s: the Chinese is the English ('%s')", vz_str_name((vz_str)id), en);
        }
    }
}

/* Unknown ids give "", an unknown language falls back to English. */
static void test_fallbacks(void **state) {
    (void)state;
    assert_string_equal(vz_tr(VZ_LANG_EN, (vz_str)-1), "");
    assert_string_equal(vz_tr(VZ_LANG_EN, VZ_S_COUNT), "");
    assert_string_equal(vz_tr(7, VZ_S_ENCODER), "encoder");
    assert_string_equal(vz_tr(VZ_LANG_ZH, VZ_S_ENCODER), "\xe7\xbc\x96\xe7\xa0\x81\xe5\x99\xa8"); /* 编码器 */
    assert_string_equal(vz_str_name(VZ_S_ENCODER), "VZ_S_ENCODER");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_conversions), cmocka_unit_test(test_all_translated), cmocka_unit_test(test_fallbacks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
