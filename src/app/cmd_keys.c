/* cmd_keys.c - `stepformer keys`: prints the window's key table (src/viz/keys.h) for one mode or all, as
 * text for a cheat sheet or as the Markdown docs/visualizer.md holds. Needs no display. */
#include "cli.h"

#ifdef HAVE_SF_VIZ
#include <stdio.h>
#include <string.h>

#include "viz/font.h"
#include "viz/keys.h"

static const char keys_usage[] =
    "usage: stepformer keys [--mode index|lesson|gui] [--lang en|zh] [--markdown]\n"
    "  prints what every key does in the lesson index, a lesson, and `gui` (the `?` overlay's list)\n";

/* Returns how many terminal columns UTF-8 text s takes (a Chinese character two). */
static int columns(const char *s) {
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned cp = *p;
        int len = cp < 0x80 ? 1 : (cp >> 5) == 6 ? 2 : (cp >> 4) == 14 ? 3 : 4;
        if (len == 3) cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        for (int i = 0; i < len && *p; i++) p++;
        n += len == 3 && vz_font_is_cjk(cp) ? 2 : 1;
    }
    return n;
}

/* Prints mode's keys in lang as aligned text. */
static void print_text(vz_mode mode, int lang) {
    static vz_help_line lines[128];
    int n = vz_help_lines(mode, lang, lines, 128);
    for (int i = 0; i < n; i++) {
        if (i == 0 || lines[i].sec != lines[i - 1].sec) printf("%s  %s\n", i ? "\n" : "", vz_tr(lang, vz_section_title(mode, lines[i].sec)));
        char keys[300] = "";
        for (int c = 0; c < lines[i].n_caps; c++) {
            size_t k = strlen(keys);
            snprintf(keys + k, sizeof keys - k, "%s%s", c ? "  " : "", lines[i].caps[c]);
        }
        printf("    %s%*s %s\n", keys, 34 - columns(keys) > 0 ? 34 - columns(keys) : 0, "", vz_tr(lang, lines[i].desc));
    }
}

int cmd_keys(int argc, char **argv) {
    int mode = -1, lang = VZ_LANG_EN, markdown = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--markdown")) { markdown = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(keys_usage, stdout); return 0; }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--mode")) {
            if ((mode = vz_mode_parse(v)) < 0) { fprintf(stderr, "stepformer keys: --mode '%s': expected index, lesson or gui\n", v); return 2; }
        } else if (!strcmp(a, "--lang")) {
            if (!strcmp(v, "en")) lang = VZ_LANG_EN;
            else if (!strcmp(v, "zh")) lang = VZ_LANG_ZH;
            else { fprintf(stderr, "stepformer keys: --lang '%s': expected en or zh\n", v); return 2; }
        } else {
            fprintf(stderr, "stepformer keys: unknown option '%s'\n%s", a, keys_usage);
            return 2;
        }
    }
    static char md[1 << 15];
    for (int m = 0; m < VZ_MODE_COUNT; m++) {
        if (mode >= 0 && m != mode) continue;
        if (mode < 0) printf("%s== %s ==\n\n", m ? "\n" : "", vz_mode_name((vz_mode)m));
        if (markdown) {
            vz_keys_markdown((vz_mode)m, lang, md, sizeof md);
            fputs(md, stdout);
        } else {
            print_text((vz_mode)m, lang);
        }
    }
    return 0;
}
#endif
