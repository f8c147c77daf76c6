/* font.c - fontconfig queries for the UI font and a CJK fallback. */
#include "font.h"

#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <string.h>

#include "core/io.h"

/* Returns 1 and copies the matched file into out if fontconfig finds a font for family/lang whose
 * character set has code point need (0: any). */
static int match(const char *family, const char *lang, unsigned need, char *out, size_t size, int *index) {
    FcPattern *p = FcPatternCreate();
    if (!p) return 0;
    if (family) FcPatternAddString(p, FC_FAMILY, (const FcChar8 *)family);
    if (lang) FcPatternAddString(p, FC_LANG, (const FcChar8 *)lang);
    FcPatternAddInteger(p, FC_WEIGHT, FC_WEIGHT_REGULAR);
    FcPatternAddInteger(p, FC_SLANT, FC_SLANT_ROMAN);
    FcConfigSubstitute(NULL, p, FcMatchPattern);
    FcDefaultSubstitute(p);
    FcResult r;
    FcPattern *m = FcFontMatch(NULL, p, &r);
    FcPatternDestroy(p);
    if (!m) return 0;
    int ok = 0;
    FcChar8 *file = NULL;
    FcCharSet *cs = NULL;
    if (FcPatternGetString(m, FC_FILE, 0, &file) == FcResultMatch && file) {
        const char *f = (const char *)file;
        size_t n = strlen(f);
        int scalable = n > 4 && (!strcmp(f + n - 4, ".ttf") || !strcmp(f + n - 4, ".otf") ||
                                 !strcmp(f + n - 4, ".ttc") || !strcmp(f + n - 4, ".otc"));
        int covers = !need || (FcPatternGetCharSet(m, FC_CHARSET, 0, &cs) == FcResultMatch && FcCharSetHasChar(cs, need));
        if (scalable && covers && n < size) {
            memcpy(out, f, n + 1);
            int idx = 0;
            if (FcPatternGetInteger(m, FC_INDEX, 0, &idx) != FcResultMatch) idx = 0;
            if (index) *index = idx;
            ok = 1;
        }
    }
    FcPatternDestroy(m);
    return ok;
}

int vz_font_is_cjk(unsigned cp) {
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

/* Finds the fonts; fontconfig is initialised and shut down here, since only the file names are kept. */
static sf_err find(const char *override, vz_font_paths *out);

sf_err vz_font_find(const char *override, vz_font_paths *out) {
    sf_err e = find(override, out);
    FcFini(); /* releases fontconfig's caches (LeakSanitizer would report them otherwise) */
    return e;
}

static sf_err find(const char *override, vz_font_paths *out) {
    memset(out, 0, sizeof *out);
    if (!FcInit()) return sf_fail("fontconfig: could not initialise; install fontconfig and fonts-dejavu-core");
    if (override) {
        sf_err e = sf_check_file(override, SF_MAX_FILE_BYTES); /* SDL_ttf opens it by name: a FIFO would block */
        if (!e.ok) return sf_err_wrap(e, "--font");
        if (strlen(override) >= sizeof out->main) return sf_fail("--font: path too long");
        strcpy(out->main, override);
    } else if (!match("DejaVu Sans", "en", 'a', out->main, sizeof out->main, NULL) &&
               !match("sans-serif", "en", 'a', out->main, sizeof out->main, NULL)) {
        return sf_fail("no usable font found through fontconfig; install the package fonts-dejavu-core "
                       "(apt-get install fonts-dejavu-core) or pass --font FILE.ttf");
    }
    /* U+4E2D (zhong) proves the font really covers Chinese, not just that fontconfig substituted. */
    if (!match("Noto Sans CJK SC", "zh-cn", 0x4E2D, out->cjk, sizeof out->cjk, &out->cjk_index) &&
        !match("sans-serif", "zh-cn", 0x4E2D, out->cjk, sizeof out->cjk, &out->cjk_index))
        out->cjk[0] = 0;
    return sf_ok();
}
