/* strings.h - the window's one string table (strings.def): every user-visible string by id, in English
 * and Chinese. Panels, the help overlay, the lesson index and the top bar's messages all take their text
 * from here, in the language of the context; nothing in src/viz writes a user-visible literal. */
#ifndef VZ_STRINGS_H
#define VZ_STRINGS_H

typedef enum {
#define S(id, en, zh) id,
#include "strings.def"
#undef S
    VZ_S_COUNT
} vz_str;

/* Languages of the interface (the same values as the lesson module's SF_LANG_EN / SF_LANG_ZH). */
enum { VZ_LANG_EN = 0, VZ_LANG_ZH = 1, VZ_LANG_COUNT = 2 };

/* Returns string id in lang; a missing Chinese string (or an unknown lang) falls back to English, and an
 * unknown id to "". Never NULL. */
const char *vz_tr(int lang, vz_str id);

/* Returns 1 if id has its own (non-fallback) text in lang. */
int vz_tr_has(int lang, vz_str id);

/* Returns the id's name ("VZ_S_ENCODER"), for tests and messages; "?" if unknown. */
const char *vz_str_name(vz_str id);

#endif
