/* keys.c - the key table and what is derived from it: lookups, key caps, help lines, Markdown. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#define IX VZ_IN_INDEX
#define PL VZ_IN_PLAYER
#define GU VZ_IN_GUI
#define VW VZ_IN_VIEW
#define AL VZ_IN_ALL
#define SH VZ_KM_SHIFT
#define CT VZ_KM_CTRL
#define ANY VZ_KM_ANY

/* The table. Rows of one description are joined on one help line, in this order. */
static const vz_key table[] = {
    /* presenting: next and back */
    {IX, SDLK_PAGEDOWN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_IDX_NEXT, VZ_S_NONE},
    {IX, SDLK_RIGHT, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_IDX_NEXT, VZ_S_NONE},
    {IX, SDLK_SPACE, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_IDX_NEXT, VZ_S_NONE},
    {IX, SDLK_DOWN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_IDX_NEXT, VZ_S_NONE},
    {IX, SDLK_PAGEUP, 0, 0, VZ_ACT_PREV, VZ_S_KEY_IDX_PREV, VZ_S_NONE},
    {IX, SDLK_LEFT, 0, 0, VZ_ACT_PREV, VZ_S_KEY_IDX_PREV, VZ_S_NONE},
    {IX, SDLK_BACKSPACE, 0, 0, VZ_ACT_PREV, VZ_S_KEY_IDX_PREV, VZ_S_NONE},
    {IX, SDLK_UP, 0, 0, VZ_ACT_PREV, VZ_S_KEY_IDX_PREV, VZ_S_NONE},
    {IX, SDLK_HOME, 0, 0, VZ_ACT_FIRST, VZ_S_KEY_IDX_FIRST, VZ_S_NONE},
    {IX, SDLK_END, 0, 0, VZ_ACT_LAST, VZ_S_KEY_IDX_LAST, VZ_S_NONE},
    {IX, SDLK_RETURN, 0, 0, VZ_ACT_OPEN, VZ_S_KEY_IDX_OPEN, VZ_S_NONE},
    {IX, SDLK_KP_ENTER, 0, 0, VZ_ACT_OPEN, VZ_S_KEY_IDX_OPEN, VZ_S_NONE},
    {PL, SDLK_PAGEDOWN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_PL_NEXT, VZ_S_NONE},
    {PL, SDLK_RIGHT, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_PL_NEXT, VZ_S_NONE},
    {PL, SDLK_SPACE, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_PL_NEXT, VZ_S_NONE},
    {PL, SDLK_RETURN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_PL_NEXT, VZ_S_NONE},
    {PL, SDLK_KP_ENTER, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_PL_NEXT, VZ_S_NONE},
    {PL, SDLK_PAGEUP, 0, 0, VZ_ACT_PREV, VZ_S_KEY_PL_PREV, VZ_S_NONE},
    {PL, SDLK_LEFT, 0, 0, VZ_ACT_PREV, VZ_S_KEY_PL_PREV, VZ_S_NONE},
    {PL, SDLK_BACKSPACE, 0, 0, VZ_ACT_PREV, VZ_S_KEY_PL_PREV, VZ_S_NONE},
    {PL, SDLK_HOME, 0, 0, VZ_ACT_FIRST, VZ_S_KEY_PL_FIRST, VZ_S_NONE},
    {PL, SDLK_END, 0, 0, VZ_ACT_LAST, VZ_S_KEY_PL_LAST, VZ_S_NONE},
    {PL, SDLK_i, 0, 0, VZ_ACT_INDEX, VZ_S_KEY_PL_INDEX, VZ_S_NONE},
    {GU, SDLK_PAGEDOWN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_RIGHT, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_SPACE, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_RETURN, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_KP_ENTER, 0, 0, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_RIGHT, 0, SH, VZ_ACT_NEXT, VZ_S_KEY_GUI_NEXT, VZ_S_NONE},
    {GU, SDLK_PAGEUP, 0, 0, VZ_ACT_PREV, VZ_S_KEY_GUI_PREV, VZ_S_NONE},
    {GU, SDLK_LEFT, 0, 0, VZ_ACT_PREV, VZ_S_KEY_GUI_PREV, VZ_S_NONE},
    {GU, SDLK_BACKSPACE, 0, 0, VZ_ACT_PREV, VZ_S_KEY_GUI_PREV, VZ_S_NONE},
    {GU, SDLK_LEFT, 0, SH, VZ_ACT_PREV, VZ_S_KEY_GUI_PREV, VZ_S_NONE},
    {GU, SDLK_HOME, 0, 0, VZ_ACT_FIRST, VZ_S_KEY_GUI_FIRST, VZ_S_NONE},
    {GU, SDLK_END, 0, 0, VZ_ACT_LAST, VZ_S_KEY_GUI_LAST, VZ_S_NONE},
    /* presenting: the screen */
    {IX, SDLK_F5, 0, 0, VZ_ACT_SHOW, VZ_S_KEY_IDX_SHOW, VZ_S_NONE},
    {IX, SDLK_F5, 0, SH, VZ_ACT_SHOW, VZ_S_KEY_IDX_SHOW, VZ_S_NONE},
    {VW, SDLK_F5, 0, 0, VZ_ACT_SHOW, VZ_S_KEY_SHOW, VZ_S_NONE},
    {VW, SDLK_F5, 0, SH, VZ_ACT_SHOW, VZ_S_KEY_SHOW, VZ_S_NONE},
    {AL, SDLK_F11, 0, 0, VZ_ACT_FULLSCREEN, VZ_S_KEY_FULLSCREEN, VZ_S_NONE},
    {AL, SDLK_ESCAPE, 0, 0, VZ_ACT_ESCAPE, VZ_S_KEY_ESCAPE, VZ_S_NONE},
    {AL, SDLK_b, 0, 0, VZ_ACT_BLANK, VZ_S_KEY_BLANK, VZ_S_NONE},
    {AL, SDLK_PERIOD, 0, 0, VZ_ACT_BLANK, VZ_S_KEY_BLANK, VZ_S_NONE},
    {AL, SDLK_SLASH, 0, 0, VZ_ACT_BLANK, VZ_S_KEY_BLANK, VZ_S_NONE},
    {AL, SDLK_SLASH, 0, SH, VZ_ACT_HELP, VZ_S_KEY_HELP, VZ_S_NONE},
    {AL, SDLK_QUESTION, 0, ANY, VZ_ACT_HELP, VZ_S_KEY_HELP, VZ_S_NONE},
    {AL, SDLK_q, 0, 0, VZ_ACT_QUIT, VZ_S_KEY_QUIT, VZ_S_NONE},
    {AL, SDLK_q, 0, CT, VZ_ACT_QUIT, VZ_S_KEY_QUIT, VZ_S_NONE},
    /* exploring a step */
    {PL, SDLK_RIGHT, 0, SH, VZ_ACT_OP_NEXT, VZ_S_KEY_OP_NEXT, VZ_S_NONE},
    {PL, SDLK_LEFT, 0, SH, VZ_ACT_OP_PREV, VZ_S_KEY_OP_PREV, VZ_S_NONE},
    {VW, SDLK_n, 0, 0, VZ_ACT_TOKEN_NEXT, VZ_S_KEY_TOKEN_NEXT, VZ_S_NONE},
    {VW, SDLK_n, 0, SH, VZ_ACT_TOKEN_PREV, VZ_S_KEY_TOKEN_PREV, VZ_S_NONE},
    {VW, SDLK_0, SDLK_9, 0, VZ_ACT_HEAD, VZ_S_KEY_HEAD, VZ_S_CAP_DIGITS},
    {VW, SDLK_h, 0, 0, VZ_ACT_HEAD_NEXT, VZ_S_KEY_HEAD_NEXT, VZ_S_NONE},
    {VW, SDLK_h, 0, SH, VZ_ACT_HEAD_PREV, VZ_S_KEY_HEAD_NEXT, VZ_S_NONE},
    {VW, SDLK_LEFTBRACKET, 0, 0, VZ_ACT_BLOCK_PREV, VZ_S_KEY_BLOCK_PREV, VZ_S_NONE},
    {VW, SDLK_RIGHTBRACKET, 0, 0, VZ_ACT_BLOCK_NEXT, VZ_S_KEY_BLOCK_PREV, VZ_S_NONE},
    {VW, SDLK_e, 0, 0, VZ_ACT_EDIT, VZ_S_KEY_EDIT, VZ_S_NONE},
    {VW, SDLK_t, 0, 0, VZ_ACT_TEMP_DOWN, VZ_S_KEY_TEMP_DOWN, VZ_S_NONE},
    {VW, SDLK_t, 0, SH, VZ_ACT_TEMP_UP, VZ_S_KEY_TEMP_DOWN, VZ_S_NONE},
    {PL, SDLK_a, 0, 0, VZ_ACT_ALIGN, VZ_S_KEY_ALIGN, VZ_S_NONE},
    {GU, SDLK_i, 0, SH, VZ_ACT_IDS, VZ_S_KEY_IDS, VZ_S_NONE},
    {GU, SDLK_k, 0, 0, VZ_ACT_ABLATE, VZ_S_KEY_ABLATE, VZ_S_NONE},
    {GU, SDLK_k, 0, SH, VZ_ACT_RESTORE_ALL, VZ_S_KEY_ABLATE, VZ_S_NONE},
    {GU, SDLK_k, 0, CT, VZ_ACT_ABLATE_MODE, VZ_S_KEY_ABLATE, VZ_S_NONE},
    {GU, SDLK_UP, 0, 0, VZ_ACT_HEAT_UP, VZ_S_KEY_HEAT_MOVE, VZ_S_NONE},
    {GU, SDLK_DOWN, 0, 0, VZ_ACT_HEAT_DOWN, VZ_S_KEY_HEAT_MOVE, VZ_S_NONE},
    {VW, SDLK_r, 0, 0, VZ_ACT_RANGE, VZ_S_KEY_RANGE, VZ_S_NONE},
    {GU, SDLK_COMMA, 0, 0, VZ_ACT_SNAP_PREV, VZ_S_KEY_SNAP, VZ_S_NONE},
    {GU, SDLK_SEMICOLON, 0, 0, VZ_ACT_SNAP_NEXT, VZ_S_KEY_SNAP, VZ_S_NONE},
    {GU, SDLK_w, 0, 0, VZ_ACT_TRAIN_PAUSE, VZ_S_KEY_TRAIN_PAUSE, VZ_S_NONE},
    /* display */
    {AL, SDLK_l, 0, 0, VZ_ACT_LANG, VZ_S_KEY_LANG, VZ_S_NONE},
    {AL, SDLK_PLUS, 0, ANY, VZ_ACT_ZOOM_IN, VZ_S_KEY_ZOOM_IN, VZ_S_NONE},
    {AL, SDLK_EQUALS, 0, SH, VZ_ACT_ZOOM_IN, VZ_S_KEY_ZOOM_IN, VZ_S_NONE},
    {AL, SDLK_EQUALS, 0, CT, VZ_ACT_ZOOM_IN, VZ_S_KEY_ZOOM_IN, VZ_S_NONE}, /* Ctrl+= / Ctrl+-: a browser's zoom keys */
    {AL, SDLK_KP_PLUS, 0, ANY, VZ_ACT_ZOOM_IN, VZ_S_KEY_ZOOM_IN, VZ_S_NONE},
    {AL, SDLK_MINUS, 0, 0, VZ_ACT_ZOOM_OUT, VZ_S_KEY_ZOOM_OUT, VZ_S_NONE},
    {AL, SDLK_MINUS, 0, CT, VZ_ACT_ZOOM_OUT, VZ_S_KEY_ZOOM_OUT, VZ_S_NONE},
    {AL, SDLK_KP_MINUS, 0, ANY, VZ_ACT_ZOOM_OUT, VZ_S_KEY_ZOOM_OUT, VZ_S_NONE},
    {VW, SDLK_p, 0, 0, VZ_ACT_PROJECTOR, VZ_S_KEY_PROJECTOR, VZ_S_NONE},
    {VW, SDLK_TAB, 0, 0, VZ_ACT_SPOT_NEXT, VZ_S_KEY_SPOT_NEXT, VZ_S_NONE},
    {VW, SDLK_TAB, 0, SH, VZ_ACT_SPOT_PREV, VZ_S_KEY_SPOT_PREV, VZ_S_NONE},
    {VW, SDLK_m, 0, 0, VZ_ACT_CMAP, VZ_S_KEY_CMAP, VZ_S_NONE},
    {VW, SDLK_m, 0, SH, VZ_ACT_THEME, VZ_S_KEY_THEME, VZ_S_NONE},
    {VW, SDLK_s, 0, 0, VZ_ACT_SAVE, VZ_S_KEY_SAVE, VZ_S_NONE},
    /* the mouse (help only) */
    {IX, 0, 0, 0, VZ_ACT_NONE, VZ_S_KEY_M_IDX_CLICK, VZ_S_CAP_CLICK_LESSON},
    {PL, 0, 0, 0, VZ_ACT_NONE, VZ_S_KEY_M_ANSWER, VZ_S_CAP_CLICK_CELL},
    {VW, 0, 0, 0, VZ_ACT_NONE, VZ_S_KEY_M_CLICK, VZ_S_CAP_CLICK},
    {VW, 0, 0, 0, VZ_ACT_NONE, VZ_S_KEY_M_HOVER, VZ_S_CAP_HOVER},
    {VW, 0, 0, 0, VZ_ACT_NONE, VZ_S_KEY_M_WHEEL, VZ_S_CAP_WHEEL},
};

const vz_key *vz_keys(int *n) {
    *n = (int)(sizeof table / sizeof *table);
    return table;
}

/* Returns the VZ_KM_* bits of SDL modifiers (Caps Lock, Num Lock and the GUI key are ignored). */
static unsigned mods_of(Uint16 mod) {
    return ((mod & KMOD_SHIFT) ? VZ_KM_SHIFT : 0u) | ((mod & KMOD_CTRL) ? VZ_KM_CTRL : 0u) |
           ((mod & KMOD_ALT) ? VZ_KM_ALT : 0u);
}

vz_action vz_key_lookup(vz_mode mode, const SDL_Keysym *k, int *arg) {
    unsigned bit = 1u << mode, m = mods_of(k->mod);
    *arg = 0;
    for (int pass = 0; pass < 2; pass++) /* exact modifiers first, then the rows that take any */
        for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
            const vz_key *r = &table[i];
            if (!(r->modes & bit) || !r->sym) continue;
            if (pass == 0 ? (r->mods & VZ_KM_ANY) || r->mods != m : !(r->mods & VZ_KM_ANY)) continue;
            SDL_Keycode last = r->sym_last ? r->sym_last : r->sym;
            if (k->sym < r->sym || k->sym > last) continue;
            *arg = (int)(k->sym - r->sym);
            return r->act;
        }
    return VZ_ACT_NONE;
}

vz_action vz_action_when_blank(vz_action act) {
    switch (act) {
    case VZ_ACT_NEXT: case VZ_ACT_PREV: case VZ_ACT_FIRST: case VZ_ACT_LAST: return VZ_ACT_UNBLANK;
    case VZ_ACT_BLANK: case VZ_ACT_SHOW: case VZ_ACT_FULLSCREEN: case VZ_ACT_ESCAPE: case VZ_ACT_QUIT: return act;
    default: return VZ_ACT_NONE;
    }
}

int vz_show_act(vz_action act, int *help, int *blank, int *fullscreen, int *quit) {
    switch (act) {
    case VZ_ACT_SHOW: *fullscreen = 1; *blank = 0; return 1;
    case VZ_ACT_FULLSCREEN: *fullscreen = !*fullscreen; return 1;
    case VZ_ACT_ESCAPE: /* the topmost layer: the help, else the show (black screen and full screen) */
        if (*help) *help = 0;
        else *blank = *fullscreen = 0;
        return 1;
    case VZ_ACT_BLANK: *blank = !*blank; return 1;
    case VZ_ACT_UNBLANK: *blank = 0; return 1;
    case VZ_ACT_HELP: *help = !*help; return 1;
    case VZ_ACT_QUIT: *quit = 1; return 1;
    default: return 0;
    }
}

int vz_action_explores(vz_action act) {
    return act >= VZ_ACT_OP_NEXT && act <= VZ_ACT_RANGE ? 1 : act == VZ_ACT_SPOT_NEXT || act == VZ_ACT_SPOT_PREV;
}

vz_section vz_action_section(vz_action act) {
    if (act == VZ_ACT_NONE) return VZ_SEC_MOUSE;
    if (act <= VZ_ACT_QUIT) return VZ_SEC_PRESENT;
    if (act <= VZ_ACT_RANGE) return VZ_SEC_EXPLORE;
    return VZ_SEC_DISPLAY;
}

/* Returns the string id naming a special key, or VZ_S_NONE. */
static vz_str cap_id(SDL_Keycode s) {
    switch (s) {
    case SDLK_PAGEDOWN: return VZ_S_CAP_PAGEDOWN;
    case SDLK_PAGEUP: return VZ_S_CAP_PAGEUP;
    case SDLK_RIGHT: return VZ_S_CAP_RIGHT;
    case SDLK_LEFT: return VZ_S_CAP_LEFT;
    case SDLK_UP: return VZ_S_CAP_UP;
    case SDLK_DOWN: return VZ_S_CAP_DOWN;
    case SDLK_SPACE: return VZ_S_CAP_SPACE;
    case SDLK_BACKSPACE: return VZ_S_CAP_BACKSPACE;
    case SDLK_RETURN: case SDLK_KP_ENTER: return VZ_S_CAP_ENTER;
    case SDLK_HOME: return VZ_S_CAP_HOME;
    case SDLK_END: return VZ_S_CAP_END;
    case SDLK_ESCAPE: return VZ_S_CAP_ESC;
    case SDLK_TAB: return VZ_S_CAP_TAB;
    default: return VZ_S_NONE;
    }
}

const char *vz_key_cap(const vz_key *k, int lang, char *out, size_t size) {
    if (k->cap != VZ_S_NONE) { snprintf(out, size, "%s", vz_tr(lang, k->cap)); return out; }
    int shift = (k->mods & VZ_KM_SHIFT) != 0, ctrl = (k->mods & VZ_KM_CTRL) != 0;
    char base[32];
    vz_str id = cap_id(k->sym);
    if (id != VZ_S_NONE) snprintf(base, sizeof base, "%s", vz_tr(lang, id));
    else if (k->sym >= SDLK_F1 && k->sym <= SDLK_F12) snprintf(base, sizeof base, "F%d", (int)(k->sym - SDLK_F1) + 1);
    else if (k->sym == SDLK_KP_PLUS || k->sym == SDLK_PLUS || (k->sym == SDLK_EQUALS && shift)) { strcpy(base, "+"); shift = 0; }
    else if (k->sym == SDLK_KP_MINUS) strcpy(base, "-");
    else if (k->sym == SDLK_QUESTION || (k->sym == SDLK_SLASH && shift)) { strcpy(base, "?"); shift = 0; }
    else if (k->sym >= SDLK_a && k->sym <= SDLK_z && shift && !ctrl) { snprintf(base, sizeof base, "%c", (char)(k->sym - 32)); shift = 0; }
    else if (k->sym >= SDLK_a && k->sym <= SDLK_z && ctrl) snprintf(base, sizeof base, "%c", (char)(k->sym - 32));
    else if (k->sym > 32 && k->sym < 127) snprintf(base, sizeof base, "%c", (char)k->sym);
    else snprintf(base, sizeof base, "%s", SDL_GetKeyName(k->sym));
    snprintf(out, size, "%s%s%s", ctrl ? vz_tr(lang, VZ_S_CAP_CTRL) : "", shift ? vz_tr(lang, VZ_S_CAP_SHIFT) : "", base);
    return out;
}

/* Adds cap to help line l unless it is already there (keypad Enter after Enter) or the line is full. */
static void add_cap(vz_help_line *l, const char *cap) {
    for (int i = 0; i < l->n_caps; i++)
        if (!strcmp(l->caps[i], cap)) return;
    if (l->n_caps < VZ_HELP_CAPS) snprintf(l->caps[l->n_caps++], sizeof l->caps[0], "%s", cap);
}

int vz_help_lines(vz_mode mode, int lang, vz_help_line *out, int max) {
    int n = 0;
    unsigned bit = 1u << mode;
    for (int sec = 0; sec < VZ_SEC_COUNT; sec++)
        for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
            const vz_key *r = &table[i];
            if (!(r->modes & bit) || (int)vz_action_section(r->act) != sec) continue;
            int j = 0;
            while (j < n && out[j].desc != r->desc) j++;
            if (j == n) {
                if (n == max) continue;
                out[n].sec = (vz_section)sec;
                out[n].n_caps = 0;
                out[n].desc = r->desc;
                n++;
            }
            char cap[48];
            add_cap(&out[j], vz_key_cap(r, lang, cap, sizeof cap));
        }
    return n;
}

vz_str vz_section_title(vz_mode mode, vz_section s) {
    switch (s) {
    case VZ_SEC_PRESENT: return VZ_S_SEC_PRESENT;
    case VZ_SEC_EXPLORE: return mode == VZ_MODE_PLAYER ? VZ_S_SEC_EXPLORE_LESSON : VZ_S_SEC_EXPLORE;
    case VZ_SEC_DISPLAY: return VZ_S_SEC_DISPLAY;
    default: return VZ_S_SEC_MOUSE;
    }
}

size_t vz_keys_markdown(vz_mode mode, int lang, char *out, size_t size) {
    static vz_help_line lines[128];
    int n = vz_help_lines(mode, lang, lines, 128);
    size_t len = 0;
    if (size) out[0] = 0;
    for (int i = 0; i < n; i++) {
        char buf[768];
        int k = 0;
        if (i == 0 || lines[i].sec != lines[i - 1].sec)
            k = snprintf(buf, sizeof buf, "%s**%s**\n\n| key | does |\n|---|---|\n", i ? "\n" : "",
                         vz_tr(lang, vz_section_title(mode, lines[i].sec)));
        k += snprintf(buf + k, sizeof buf - (size_t)k, "|");
        for (int c = 0; c < lines[i].n_caps; c++) /* keys in backquotes, the mouse in words (no cap holds a ` or |) */
            k += snprintf(buf + k, sizeof buf - (size_t)k, lines[i].sec == VZ_SEC_MOUSE ? " %s" : " `%s`", lines[i].caps[c]);
        k += snprintf(buf + k, sizeof buf - (size_t)k, " | %s |\n", vz_tr(lang, lines[i].desc));
        if (len < size) snprintf(out + len, size - len, "%s", buf);
        len += (size_t)k;
    }
    return len;
}

static const char *const mode_names[VZ_MODE_COUNT] = {"index", "lesson", "gui"};

const char *vz_mode_name(vz_mode mode) { return mode >= 0 && mode < VZ_MODE_COUNT ? mode_names[mode] : "?"; }

int vz_mode_parse(const char *s) {
    for (int i = 0; i < VZ_MODE_COUNT; i++)
        if (!strcmp(s, mode_names[i])) return i;
    return -1;
}
