/* strings.c - the string table built from strings.def. */
#include "strings.h"

typedef struct { const char *name, *col[VZ_LANG_COUNT]; } vz_str_row;

static const vz_str_row table[VZ_S_COUNT] = {
#define S(id, en, zh) [id] = {#id, {en, zh}},
#include "strings.def"
#undef S
};

const char *vz_tr(int lang, vz_str id) {
    if ((int)id < 0 || id >= VZ_S_COUNT) return "";
    if (lang > 0 && lang < VZ_LANG_COUNT && table[id].col[lang] && table[id].col[lang][0]) return table[id].col[lang];
    return table[id].col[VZ_LANG_EN] ? table[id].col[VZ_LANG_EN] : "";
}

int vz_tr_has(int lang, vz_str id) {
    if ((int)id < 0 || id >= VZ_S_COUNT || lang < 0 || lang >= VZ_LANG_COUNT) return 0;
    return table[id].col[lang] && table[id].col[lang][0];
}

const char *vz_str_name(vz_str id) {
    return (int)id >= 0 && id < VZ_S_COUNT ? table[id].name : "?";
}
